using System.Threading.Channels;

namespace Isolates.Tests.Support.Proxies;

/// <summary>A small interface for the adversarial proxy tests: objects that misbehave in construction, disposal or use.</summary>
[IsolateInterface]
public interface IProbe
{
    Task<int> PingAsync();

    /// <summary>Calls this object again through <paramref name="self"/>, a proxy to itself, and awaits it.</summary>
    Task<int> CallSelfAsync(IProbe self);

    /// <summary>Releases this object through <paramref name="self"/> from inside one of its own calls.</summary>
    Task<int> ReleaseSelfAsync(IProbe self);
}

/// <summary>Counts pings; disposes asynchronously (and counts that).</summary>
public sealed class AsyncDisposableProbe : IProbe, IAsyncDisposable
{
    private static int s_disposed;
    private int _pings;

    public static int Disposed() => Volatile.Read(ref s_disposed);

    public Task<int> PingAsync() => Task.FromResult(++_pings);

    public async Task<int> CallSelfAsync(IProbe self) => await self.PingAsync() + 100;

    public async Task<int> ReleaseSelfAsync(IProbe self)
    {
        await Isolate.ReleaseAsync(self);
        return Disposed();
    }

    public async ValueTask DisposeAsync()
    {
        await Task.Yield();
        Interlocked.Increment(ref s_disposed);
    }
}

/// <summary>Its constructor throws.</summary>
public sealed class ThrowingProbe : IProbe
{
    public ThrowingProbe(string why) => throw new InvalidOperationException("cannot build: " + why);

    public Task<int> PingAsync() => Task.FromResult(0);

    public Task<int> CallSelfAsync(IProbe self) => Task.FromResult(0);

    public Task<int> ReleaseSelfAsync(IProbe self) => Task.FromResult(0);
}

/// <summary>Its Dispose throws.</summary>
public sealed class BadDisposeProbe : IProbe, IDisposable
{
    public Task<int> PingAsync() => Task.FromResult(1);

    public Task<int> CallSelfAsync(IProbe self) => Task.FromResult(0);

    public Task<int> ReleaseSelfAsync(IProbe self) => Task.FromResult(0);

    public void Dispose() => throw new InvalidOperationException("dispose failed");
}

/// <summary>A record carrying a proxy.</summary>
[Shareable]
public sealed record ProbeHolder(string Label, IProbe Probe);

/// <summary>A host service whose methods return value tasks.</summary>
[IsolateInterface]
public interface ICounterService
{
    ValueTask<int> NextAsync();

    ValueTask BumpAsync(int by);

    Task<int> PeekAsync();
}

public sealed class CounterService : ICounterService
{
    private int _value;

    public async ValueTask<int> NextAsync()
    {
        await Task.Yield(); // a value task backed by a state machine, not a completed value
        return Interlocked.Increment(ref _value);
    }

    public async ValueTask BumpAsync(int by)
    {
        await Task.Yield();
        Interlocked.Add(ref _value, by);
    }

    public Task<int> PeekAsync() => Task.FromResult(Volatile.Read(ref _value));
}

/// <summary>Isolate code for the adversarial proxy tests.</summary>
public static class ProbeFunctions
{
    public static async Task<int> PingHeldAsync(ProbeHolder holder) => await holder.Probe.PingAsync();

    public static async Task<int> PingFromChannelAsync(ChannelReader<IProbe> reader)
    {
        IProbe probe = await reader.ReadAsync();
        return await probe.PingAsync();
    }

    public static async Task<int> UseCounterAsync()
    {
        ICounterService counter = Isolate.Current!.GetHostService<ICounterService>();
        await counter.BumpAsync(10);
        return await counter.NextAsync();
    }
}

/// <summary>Its constructor takes a value that cannot cross between isolates.</summary>
public sealed class StreamProbe(Stream stream) : IProbe
{
    public Task<int> PingAsync() => Task.FromResult(stream.CanRead ? 1 : 0);

    public Task<int> CallSelfAsync(IProbe self) => Task.FromResult(0);

    public Task<int> ReleaseSelfAsync(IProbe self) => Task.FromResult(0);
}

/// <summary>A host service whose one method waits until the host lets it go (no token to cancel it).</summary>
[IsolateInterface]
public interface IHangService
{
    Task HangAsync();
}

public sealed class HangService : IHangService
{
    private readonly TaskCompletionSource _go = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    public Task HangAsync()
    {
        Interlocked.Increment(ref _calls);
        return _go.Task;
    }

    public void Go() => _go.TrySetResult();
}

public static class HangFunctions
{
    public static async Task AwaitHangAsync() => await Isolate.Current!.GetHostService<IHangService>().HangAsync();
}

public static class WaitingFunctions
{
    /// <summary>Waits on an object in another isolate for up to a minute (no token).</summary>
    public static async Task AwaitObjectAsync(IInventory inventory) => await inventory.WaitForCancellationAsync(CancellationToken.None);
}
