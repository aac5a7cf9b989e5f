namespace Isolates.Tests.Support.Proxies;

/// <summary>A host service that hands out and takes back proxies (objects passed both ways through proxy calls).</summary>
[IsolateInterface]
public interface ICatalog
{
    /// <summary>A proxy of the inventory the catalog was given.</summary>
    Task<IInventory?> OpenAsync();

    /// <summary>Counts <paramref name="sku"/> through a proxy the caller passes back.</summary>
    Task<int> CountThroughAsync(IInventory inventory, string sku);
}

public sealed class Catalog(IInventory? inventory) : ICatalog
{
    public Task<IInventory?> OpenAsync() => Task.FromResult(inventory);

    public async Task<int> CountThroughAsync(IInventory passed, string sku) => await passed.CountAsync(sku);
}

/// <summary>Isolate code that calls objects of the host from a child-process isolate (run in the child).</summary>
public static class ChildProxyFunctions
{
    private static IInventory? s_kept;

    public static int ProcessId() => Environment.ProcessId;

    /// <summary>Makes <paramref name="count"/> calls without waiting between them; the object's log must have them in order.</summary>
    public static async Task<int[]> AppendManyAsync(IInventory inventory, int count)
    {
        Task<int>[] calls = [.. Enumerable.Range(0, count).Select(inventory.AppendAsync)];
        await Task.WhenAll(calls);
        return await inventory.LogAsync();
    }

    /// <summary>What the child sees when the object throws: the exception type, the remote type and whether the stack names the method.</summary>
    public static async Task<string> ThrowThroughAsync(IInventory inventory)
    {
        try
        {
            await inventory.ThrowAsync("from the child");
            return "no exception";
        }
        catch (IsolateExecutionException ex)
        {
            return $"{ex.GetType().Name}|{ex.RemoteType}|{ex.Message}|{ex.RemoteStackTrace?.Contains(nameof(Inventory.ThrowAsync), StringComparison.Ordinal)}";
        }
    }

    /// <summary>Cancels a call waiting in the host's object from the child; true when the object saw its token fire.</summary>
    public static async Task<bool> CancelThroughAsync(IInventory inventory)
    {
        using var cts = new CancellationTokenSource();
        Task waiting = inventory.WaitForCancellationAsync(cts.Token);
        for (int i = 0; i < 500 && !await inventory.IsWaitingAsync(); i++)
        {
            await Task.Delay(10);
        }

        await cts.CancelAsync();
        try
        {
            await waiting;
            return false;
        }
        catch (OperationCanceledException)
        {
        }

        for (int i = 0; i < 500; i++)
        {
            if (await inventory.SawCancellationAsync())
            {
                return true;
            }

            await Task.Delay(10);
        }

        return false;
    }

    public static void Keep(IInventory inventory) => s_kept = inventory;

    /// <summary>Waits in the object (until its token fires); true if it ended any other way.</summary>
    public static async Task<bool> WaitThroughAsync(IInventory inventory)
    {
        await inventory.WaitForCancellationAsync(CancellationToken.None);
        return true;
    }

    public static IInventory? Kept() => s_kept;

    public static async Task<int> AddToKeptAsync(int count) => await s_kept!.AddAsync("kept", count);

    public static async Task ReleaseKeptAsync() => await Isolate.ReleaseAsync(s_kept!);

    /// <summary>What a call through the kept proxy gives after its release: the exception's type and message.</summary>
    public static async Task<string> CallKeptAfterReleaseAsync()
    {
        try
        {
            await s_kept!.AddAsync("kept", 1);
            return "no exception";
        }
        catch (Exception ex)
        {
            return ex.GetType().Name + ": " + ex.Message;
        }
    }

    /// <summary>Lets go of the kept proxy and collects, so its finalizer tells the host.</summary>
    public static void ForgetKept()
    {
        s_kept = null;
        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }

    /// <summary>Opens the catalog's inventory (a proxy in a host service's result) and counts through the catalog with it (a proxy going back).</summary>
    public static async Task<int> UseCatalogAsync(string sku, int count)
    {
        ICatalog catalog = Isolate.Current!.GetHostService<ICatalog>();
        IInventory inventory = (await catalog.OpenAsync())!;
        await inventory.AddAsync(sku, count);
        return await catalog.CountThroughAsync(inventory, sku);
    }

    public static async Task<int> PlaceOrdersAsync(int count)
    {
        IOrders orders = Isolate.Current!.GetHostService<IOrders>();
        int last = 0;
        for (int i = 0; i < count; i++)
        {
            last = await orders.PlaceAsync("child-" + i);
        }

        return last;
    }

    /// <summary>Waits in a host service until the child's isolate or the host cancels.</summary>
    public static async Task WaitInHostServiceAsync(CancellationToken cancellationToken) =>
        await Isolate.Current!.GetHostService<IOrders>().WaitAsync(cancellationToken);

    /// <summary>Creates an object in this (child-process) isolate and returns its proxy without keeping it.</summary>
    public static async Task<IInventory> CreateOwnAsync(string sku, int count)
    {
        IInventory own = await Isolate.Current!.CreateObjectAsync<IInventory, Inventory, string, int>(sku, count);
        return own;
    }

    /// <summary>Collects (so unreferenced objects are released) and says how many inventories this isolate disposed.</summary>
    public static async Task<int> CollectThenDisposedAsync()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        await Task.Delay(20); // a finalizer queues the release after this call
        return Inventory.Disposed();
    }

    /// <summary>Passes an object of this isolate to a host service, which calls it back here while this call waits for it.</summary>
    public static async Task<int> CountOwnThroughCatalogAsync(string sku, int count)
    {
        IInventory own = await Isolate.Current!.CreateObjectAsync<IInventory, Inventory, string, int>(sku, count);
        return await Isolate.Current!.GetHostService<ICatalog>().CountThroughAsync(own, sku);
    }

    /// <summary>Creates an object in this isolate, waits, then returns its proxy (the host may have stopped waiting by then).</summary>
    public static async Task<IInventory> CreateOwnAfterAsync(int delayMilliseconds)
    {
        IInventory own = await Isolate.Current!.CreateObjectAsync<IInventory, Inventory>();
        await Task.Delay(delayMilliseconds);
        return own;
    }
}
