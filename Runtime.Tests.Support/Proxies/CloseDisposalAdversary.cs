using System.Threading.Channels;

namespace Isolates.Tests.Support.Proxies;

/// <summary>
/// Runs a background loop on its isolate's thread (started by its constructor, so its awaits resume through the
/// isolate's synchronization context) until the isolate's closing token or its own DisposeAsync stops it; DisposeAsync
/// waits for the loop to end, the usual shape of a hosted service (Runtime.Tests/Proxies/DisposalAtCloseAdversaryTests).
/// </summary>
public sealed class LoopingResource : IResource, IAsyncDisposable
{
    private readonly ChannelWriter<string> _log;
    private readonly string _name;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public LoopingResource(ChannelWriter<string> log, string name)
    {
        _log = log;
        _name = name;
        _loop = RunAsync(CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, Isolate.Current!.ClosingToken).Token);
    }

    public Task<string> NameAsync() => Task.FromResult(_name);

    private async Task RunAsync(CancellationToken token)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, token);
        }
        catch (OperationCanceledException)
        {
            // stopped
        }

        _log.TryWrite($"{_name} loop ended {DisposalLog.Where()}");
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _loop;
        _log.TryWrite($"{_name} disposed async {DisposalLog.Where()}");
    }
}

/// <summary>Its Dispose tries to create a new object in its own (closing) isolate and logs how that ended at once.</summary>
public sealed class CreatingResource(ChannelWriter<string> log, string name) : IResource, IDisposable
{
    public Task<string> NameAsync() => Task.FromResult(name);

    public void Dispose()
    {
        Task<IResource>? created = Isolate.Current?.CreateObjectAsync<IResource, SyncResource, ChannelWriter<string>, string>(log, name + "-late");
        log.TryWrite(created is null ? $"{name}: no current isolate"
            : created.IsFaulted ? $"{name}: create failed at once: {created.Exception!.InnerException!.GetType().Name}"
            : $"{name}: create status {created.Status}");
    }
}

/// <summary>Its Dispose releases another object of the same isolate (a proxy it was given) and logs how that ended at once.</summary>
public sealed class ReleasingResource(ChannelWriter<string> log, string name, IResource other) : IResource, IDisposable
{
    public Task<string> NameAsync() => Task.FromResult(name);

    public void Dispose()
    {
        Task released = Isolate.ReleaseAsync(other);
        log.TryWrite($"{name}: release {(released.IsCompleted ? "ended at once" : "pending")}");
    }
}

/// <summary>DisposeAsync takes a while (a timer), then logs.</summary>
public sealed class SlowResource(ChannelWriter<string> log, string name) : IResource, IAsyncDisposable
{
    public Task<string> NameAsync() => Task.FromResult(name);

    public async ValueTask DisposeAsync()
    {
        await Task.Delay(300);
        log.TryWrite($"{name} disposed async {DisposalLog.Where()}");
    }
}
