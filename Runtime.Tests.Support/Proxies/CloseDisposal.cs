using System.Threading.Channels;

namespace Isolates.Tests.Support.Proxies;

/// <summary>Objects still living in an isolate when it closes (Runtime.Tests/Proxies/ObjectDisposalAtCloseTests).</summary>
[IsolateInterface]
public interface IResource
{
    Task<string> NameAsync();
}

/// <summary>Writes to the host's log where and how its Dispose ran.</summary>
public static class DisposalLog
{
    /// <summary>Whether the code runs on its isolate's own thread.</summary>
    public static string Where() =>
        Isolate.Current is { } current && Thread.CurrentThread.Name == "isolate:" + current.Name ? "on its thread" : "elsewhere";
}

public sealed class SyncResource(ChannelWriter<string> log, string name) : IResource, IDisposable
{
    public Task<string> NameAsync() => Task.FromResult(name);

    public void Dispose() => log.TryWrite($"{name} disposed {DisposalLog.Where()}");
}

/// <summary>DisposeAsync awaits twice (a yield and a timer), resuming on the isolate's thread each time.</summary>
public sealed class AsyncResource(ChannelWriter<string> log, string name) : IResource, IAsyncDisposable
{
    public Task<string> NameAsync() => Task.FromResult(name);

    public async ValueTask DisposeAsync()
    {
        await Task.Yield();
        await Task.Delay(20);
        log.TryWrite($"{name} disposed async {DisposalLog.Where()}");
    }
}

public sealed class ThrowingResource(ChannelWriter<string> log, string name) : IResource, IDisposable
{
    public Task<string> NameAsync() => Task.FromResult(name);

    public void Dispose()
    {
        log.TryWrite($"{name} dispose threw");
        throw new InvalidOperationException("dispose failed: " + name);
    }
}

/// <summary>DisposeAsync never finishes.</summary>
public sealed class HangingResource(ChannelWriter<string> log, string name) : IResource, IAsyncDisposable
{
    public Task<string> NameAsync() => Task.FromResult(name);

    public async ValueTask DisposeAsync()
    {
        log.TryWrite($"{name} dispose started");
        await new TaskCompletionSource().Task;
    }
}

/// <summary>Its Dispose calls the isolate named <paramref name="target"/> and logs how the call ended at once.</summary>
public sealed class CallingResource(ChannelWriter<string> log, string target) : IResource, IDisposable
{
    public Task<string> NameAsync() => Task.FromResult(target);

    public void Dispose()
    {
        Task<int> call = Isolate.All.Single(i => i.Name == target).CallAsync(Answer);
        log.TryWrite(call.IsFaulted ? "call failed at once: " + call.Exception!.InnerException!.GetType().Name + ": " + call.Exception.InnerException.Message : "call status " + call.Status);
    }

    private static int Answer() => 42;
}
