using System.Collections.Concurrent;
using System.Runtime.Loader;

namespace Isolates.Tests.Support.Proxies;

/// <summary>The example interface, plus what the proxy tests need to observe.</summary>
[IsolateInterface]
public interface IInventory
{
    Task<int> AddAsync(string sku, int count, CancellationToken cancellationToken = default);

    ValueTask<int> CountAsync(string sku);

    Task ResetAsync();

    ValueTask TouchAsync();

    /// <summary>Appends to the object's log and returns how long it is (for ordering).</summary>
    Task<int> AppendAsync(int value);

    Task<int[]> LogAsync();

    Task<int> ThrowAsync(string message);

    /// <summary>Waits until its token is cancelled (or a minute passes); records that it saw the cancellation.</summary>
    Task WaitForCancellationAsync(CancellationToken cancellationToken);

    Task<bool> SawCancellationAsync();

    /// <summary>Whether a WaitForCancellationAsync call is waiting (calls interleave at awaits, like any isolate code).</summary>
    Task<bool> IsWaitingAsync();

    /// <summary>The isolate the object runs in (0 in the host) and whether the call ran on that isolate's own thread.</summary>
    Task<Where> WhereAsync();

    Task<Shipment> ShipAsync(Shipment shipment);
}

[Shareable]
public sealed record Where(long IsolateId, bool OwnThread);

[Shareable]
public sealed record Passed(int Count, bool OwnProxyType, long ObjectIsolate);

/// <summary>A record crossing through a proxy call (encoded path).</summary>
[Shareable]
public sealed record Shipment(string Sku, int Count, IReadOnlyList<string> Labels);

public sealed class Inventory : IInventory, IDisposable
{
    private static int s_disposed;
    private readonly Dictionary<string, int> _counts = [];
    private readonly List<int> _log = [];
    private readonly string _name;
    private bool _sawCancellation;
    private bool _waiting;

    public Inventory()
        : this("default", 0)
    {
    }

    public Inventory(string name, int initial)
    {
        _name = name;
        if (initial > 0)
        {
            _counts[name] = initial;
        }
    }

    /// <summary>How many Inventory objects this isolate disposed.</summary>
    public static int Disposed() => Volatile.Read(ref s_disposed);

    public Task<int> AddAsync(string sku, int count, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        _counts[sku] = _counts.GetValueOrDefault(sku) + count;
        return Task.FromResult(_counts[sku]);
    }

    public ValueTask<int> CountAsync(string sku) => new(_counts.GetValueOrDefault(sku));

    public Task ResetAsync()
    {
        _counts.Clear();
        return Task.CompletedTask;
    }

    public async ValueTask TouchAsync() => await Task.Yield();

    public async Task<int> AppendAsync(int value)
    {
        _log.Add(value);
        if (value % 7 == 0)
        {
            await Task.Yield(); // the next call may run meanwhile; the order they were made in is what counts
        }

        return _log.Count;
    }

    public Task<int[]> LogAsync() => Task.FromResult(_log.ToArray());

    public Task<int> ThrowAsync(string message) => throw new InvalidOperationException(message + " (" + _name + ")");

    public async Task WaitForCancellationAsync(CancellationToken cancellationToken)
    {
        try
        {
            _waiting = true;
            await Task.Delay(TimeSpan.FromMinutes(1), cancellationToken);
        }
        catch (OperationCanceledException)
        {
            _sawCancellation = true;
            throw;
        }
        finally
        {
            _waiting = false;
        }
    }

    public Task<bool> IsWaitingAsync() => Task.FromResult(_waiting);

    public Task<bool> SawCancellationAsync() => Task.FromResult(_sawCancellation);

    public Task<Where> WhereAsync() =>
        Task.FromResult(new Where(Isolate.Current?.Id ?? 0, Isolate.Current is { } current && Thread.CurrentThread.Name == "isolate:" + current.Name));

    public Task<Shipment> ShipAsync(Shipment shipment) =>
        Task.FromResult(shipment with { Count = shipment.Count * 2, Labels = [.. shipment.Labels, _name] });

    public void Dispose() => Interlocked.Increment(ref s_disposed);
}

/// <summary>A host service: orders placed from isolates, kept in the host.</summary>
[IsolateInterface]
public interface IOrders
{
    Task<int> PlaceAsync(string item, CancellationToken cancellationToken = default);

    Task<string> FailAsync();

    /// <summary>Waits until its token is cancelled; then <see cref="Orders.SawCancellation"/> is set.</summary>
    Task WaitAsync(CancellationToken cancellationToken);
}

public sealed class Orders : IOrders
{
    private int _count;

    public ConcurrentQueue<string> Placed { get; } = new();

    /// <summary>Whether any call saw itself inside an isolate (it must not: host services run in the host).</summary>
    public bool RanInIsolate { get; private set; }

    public async Task<int> PlaceAsync(string item, CancellationToken cancellationToken = default)
    {
        RanInIsolate |= Isolate.Current is not null;
        await Task.Yield();
        Placed.Enqueue(item);
        return Interlocked.Increment(ref _count);
    }

    public Task<string> FailAsync() => throw new ArgumentException("no such order");

    public bool SawCancellation { get; private set; }

    public bool Waiting { get; private set; }

    public async Task WaitAsync(CancellationToken cancellationToken)
    {
        try
        {
            Waiting = true;
            await Task.Delay(TimeSpan.FromMinutes(1), cancellationToken);
        }
        finally
        {
            SawCancellation = cancellationToken.IsCancellationRequested;
        }
    }
}

/// <summary>Isolate code that uses proxies.</summary>
public static class ProxyFunctions
{
    private static IInventory? s_kept;

    public static void Keep(IInventory inventory) => s_kept = inventory;

    public static IInventory? Kept() => s_kept;

    /// <summary>Adds through a proxy that crossed into this isolate; says whether the proxy is this context's own type.</summary>
    public static async Task<Passed> AddThroughAsync(IInventory inventory, int count)
    {
        int total = await inventory.AddAsync("apple", count);
        long objectIsolate = (await inventory.WhereAsync()).IsolateId;
        bool own = AssemblyLoadContext.GetLoadContext(inventory.GetType().Assembly) == AssemblyLoadContext.GetLoadContext(typeof(ProxyFunctions).Assembly)
            && AssemblyLoadContext.GetLoadContext(typeof(ProxyFunctions).Assembly) is { IsCollectible: true };
        return new Passed(total, own, objectIsolate);
    }

    /// <summary>Passes the proxy on from this isolate to the isolate named <paramref name="next"/>, which adds through it.</summary>
    public static async Task<Passed> ForwardAsync(IInventory inventory, string next, int count)
    {
        Isolate target = Isolate.All.Single(i => i.Name == next);
        return await target.CallAsync(AddThroughAsync, inventory, count);
    }

    public static async Task<int> PlaceOrderAsync(string item)
    {
        IOrders orders = Isolate.Current!.GetHostService<IOrders>();
        return await orders.PlaceAsync(item);
    }

    public static async Task<string> HostServiceFailureAsync()
    {
        try
        {
            return await Isolate.Current!.GetHostService<IOrders>().FailAsync();
        }
        catch (IsolateExecutionException ex)
        {
            return ex.RemoteType + ": " + ex.Message;
        }
    }

    public static string MissingHostService()
    {
        try
        {
            _ = Isolate.Current!.GetHostService<IInventory>();
            return "no exception";
        }
        catch (InvalidOperationException ex)
        {
            return ex.Message;
        }
    }

    /// <summary>Creates an object in the isolate named <paramref name="owner"/> from isolate code and calls it.</summary>
    public static async Task<int> CreateElsewhereAsync(string owner)
    {
        Isolate target = Isolate.All.Single(i => i.Name == owner);
        IInventory inventory = await target.CreateObjectAsync<IInventory, Inventory, string, int>("pear", 2);
        return await inventory.AddAsync("pear", 1);
    }
}

// The analyzer refuses these members at build time (ISO007-ISO009, ISO016); suppressed here to test what the
// generated proxy does when a project turns the errors off: it compiles, and each such member throws naming itself.
#pragma warning disable ISO007, ISO008, ISO009, ISO016

/// <summary>Everything a proxy can be asked to carry that it cannot: the generator still makes it compile.</summary>
[IsolateInterface]
public interface IAwkward
{
    int Synchronous();

    string Name { get; }

    Task<int> TooManyAsync(int a, int b, int c, int d);

    Task<T> GenericAsync<T>(T value);

    event EventHandler Changed;

    Task<int> FineAsync(int a);
}
#pragma warning restore ISO007, ISO008, ISO009, ISO016
