namespace Isolates.Tests.Support.Proxies;

/// <summary>
/// Isolate code run in a child-process isolate that creates objects in its own isolate and hands their proxies to the
/// host (the adversary's side of ChildProcessOwnObjectsAdversaryTests): one object kept here, sent again and again,
/// used after the host released it, and objects of a second isolate inside the child, which must not cross.
/// </summary>
public static class ChildOwnFunctions
{
    private static IInventory? s_own;

    /// <summary>Creates an object in this isolate, keeps it, and returns its proxy.</summary>
    public static async Task<IInventory> CreateAndKeepAsync(string sku, int count)
    {
        s_own = await Isolate.Current!.CreateObjectAsync<IInventory, Inventory, string, int>(sku, count);
        return s_own;
    }

    /// <summary>The kept object again (another send of it).</summary>
    public static IInventory Kept() => s_own!;

    /// <summary>The kept object, sent from a thread-pool thread after a hop (sends from several threads at once).</summary>
    public static async Task<IInventory> KeptFromThePoolAsync()
    {
        await Task.Yield();
        return await Task.Run(() => s_own!);
    }

    /// <summary>Uses the kept object here: its count, or the exception's type name and message.</summary>
    public static async Task<string> UseKeptAsync()
    {
        try
        {
            return (await s_own!.AddAsync("child", 1)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception ex)
        {
            return ex.GetType().Name + ": " + ex.Message;
        }
    }

    /// <summary>Forgets the kept object (so only the host's sends keep it) and collects.</summary>
    public static void Forget()
    {
        s_own = null;
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }

    /// <summary>Creates an object in a second, in-process isolate inside the child and returns its proxy (must be refused).</summary>
    public static async Task<IInventory> CreateInSecondIsolateAsync()
    {
        Isolate second = await Isolate.CreateAsync(new IsolateOptions { Name = "second-in-child" });
        return await second.CreateObjectAsync<IInventory, Inventory>();
    }

    /// <summary>Adds through a proxy passed in: the object's count after adding.</summary>
    public static async Task<int> AddThroughAsync(IInventory inventory, int count) => await inventory.AddAsync("apple", count);
}
