using System.Threading.Channels;

namespace Isolates.Tests.Support.Proxies;

/// <summary>A result holding a proxy and a channel end: the channel end cannot cross from the host to a child in a result.</summary>
[Shareable]
public sealed record ProxyAndChannel(IInventory Inventory, ChannelReader<int> Reader);

/// <summary>The same members the other way round (the attachments' order follows the encoding's).</summary>
[Shareable]
public sealed record ChannelAndProxy(ChannelReader<int> Reader, IInventory Inventory);

/// <summary>A host service for the adversarial child tests: misbehaving results, and calls back into the calling child.</summary>
[IsolateInterface]
public interface IBackChannel
{
    /// <summary>A result holding a proxy and then a channel end (refused as a whole).</summary>
    Task<ProxyAndChannel> ProxyAndChannelAsync();

    /// <summary>A result holding a channel end and then a proxy (refused as a whole).</summary>
    Task<ChannelAndProxy> ChannelAndProxyAsync();

    /// <summary>A null result where a proxy may be.</summary>
    Task<IInventory?> NothingAsync();

    /// <summary>Calls the child back (the child's thread awaits this call meanwhile) and adds one to its answer.</summary>
    Task<int> CallChildBackAsync(int depth);
}

public sealed class BackChannel(IInventory inventory) : IBackChannel
{
    /// <summary>The child the service calls back into (set once the child exists).</summary>
    public Isolate? Child { get; set; }

    public Task<ProxyAndChannel> ProxyAndChannelAsync() => Task.FromResult(new ProxyAndChannel(inventory, IsolateChannel.CreateUnbounded<int>().Reader));

    public Task<ChannelAndProxy> ChannelAndProxyAsync() => Task.FromResult(new ChannelAndProxy(IsolateChannel.CreateUnbounded<int>().Reader, inventory));

    public Task<IInventory?> NothingAsync() => Task.FromResult<IInventory?>(null);

    public async Task<int> CallChildBackAsync(int depth) => depth <= 0 ? 0 : await Child!.CallAsync(ChildAdversaryFunctions.CallHostBackAsync, depth - 1) + 1;
}

/// <summary>Isolate code of the adversarial child tests (run in the child process).</summary>
public static class ChildAdversaryFunctions
{
    private static Thread? s_storm;
    private static volatile bool s_storming;

    private static CancellationTokenSource? s_waitCancel;
    private static Task? s_wait;

    /// <summary>Starts a call waiting in the object (until this child cancels it with <see cref="CancelWaitingAsync"/>).</summary>
    public static void StartWaiting(IInventory inventory)
    {
        s_waitCancel = new CancellationTokenSource();
        s_wait = inventory.WaitForCancellationAsync(s_waitCancel.Token);
    }

    /// <summary>Cancels the waiting call; says how it ended.</summary>
    public static async Task<string> CancelWaitingAsync()
    {
        await s_waitCancel!.CancelAsync();
        try
        {
            await s_wait!;
            return "completed";
        }
        catch (OperationCanceledException)
        {
            return "cancelled";
        }
        catch (Exception ex)
        {
            return ex.GetType().Name + ": " + ex.Message;
        }
    }

    /// <summary>Waits until the call's token fires (holds the child's only queue place meanwhile).</summary>
    public static async Task BlockAsync(CancellationToken cancellationToken) => await Task.Delay(Timeout.Infinite, cancellationToken);

    public static int Ignore(IInventory inventory, Shipment shipment) => shipment.Count;

    /// <summary>Gives back the proxy it was passed: the result then holds the only reference to it in this process.</summary>
    public static IInventory Echo(IInventory inventory) => inventory;

    /// <summary>Calls the proxy once and keeps no reference to it: the call's frame must reach the host before the drop.</summary>
    public static async Task<int> TouchAsync(IInventory inventory) => await inventory.AddAsync("touch", 1);

    /// <summary>Collects garbage on a thread of its own until stopped, so references die as early as the JIT lets them.</summary>
    public static void StartCollecting()
    {
        s_storming = true;
        s_storm = new Thread(() =>
        {
            while (s_storming)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        })
        { IsBackground = true, Name = "gc-storm" };
        s_storm.Start();
    }

    public static void StopCollecting()
    {
        s_storming = false;
        s_storm?.Join();
    }

    /// <summary>
    /// Ships <paramref name="count"/> large shipments through the proxy without waiting between them (each frame larger
    /// than a socket's buffer); the total length of the labels that came back.
    /// </summary>
    public static async Task<long> ShipManyAsync(IInventory inventory, int count, int labelLength)
    {
        string label = new('x', labelLength);
        Task<Shipment>[] calls = [.. Enumerable.Range(0, count).Select(i => inventory.ShipAsync(new Shipment("big", i, [label])))];
        Shipment[] shipped = await Task.WhenAll(calls);
        return shipped.Sum(s => s.Labels.Sum(l => (long)l.Length));
    }

    /// <summary>What the child sees from a host service's result that cannot cross: the exception's type and message.</summary>
    public static async Task<string> ProxyAndChannelAsync(bool proxyFirst)
    {
        try
        {
            IBackChannel service = Isolate.Current!.GetHostService<IBackChannel>();
            _ = proxyFirst ? (object)await service.ProxyAndChannelAsync() : await service.ChannelAndProxyAsync();
            return "no exception";
        }
        catch (Exception ex)
        {
            return ex.GetType().Name + ": " + ex.Message;
        }
    }

    public static async Task<bool> NothingIsNullAsync() => await Isolate.Current!.GetHostService<IBackChannel>().NothingAsync() is null;

    /// <summary>Calls the host service, which calls this child back, <paramref name="depth"/> times deep.</summary>
    public static async Task<int> CallHostBackAsync(int depth) => depth <= 0 ? 0 : await Isolate.Current!.GetHostService<IBackChannel>().CallChildBackAsync(depth - 1) + 1;

    /// <summary>Releases the proxy twice at once and calls it meanwhile; says what each gave.</summary>
    public static async Task<string> ReleaseTwiceAsync(IInventory inventory)
    {
        Task<int> call = inventory.AddAsync("before-release", 1);
        Task first = Isolate.ReleaseAsync(inventory);
        Task second = Isolate.ReleaseAsync(inventory);
        int added = await call;
        await Task.WhenAll(first, second);
        string after;
        try
        {
            await inventory.AddAsync("after-release", 1);
            after = "no exception";
        }
        catch (Exception ex)
        {
            after = ex.GetType().Name;
        }

        return $"{added}|{first == second}|{after}";
    }
}

/// <summary>Shaped like a dispatcher stub (static, object id first, returns a task) but not one: a child must not be able to run it in the host.</summary>
public static class NotADispatcher
{
    private static int s_ran;

    /// <summary>How many times the stub ran in this isolate (or in the host).</summary>
    public static int Ran() => Volatile.Read(ref s_ran);

    public static Task<int> Stub(long id)
    {
        Interlocked.Increment(ref s_ran);
        return Task.FromResult((int)id);
    }
}
