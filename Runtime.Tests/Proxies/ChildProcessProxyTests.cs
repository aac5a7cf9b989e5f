using System.Runtime.CompilerServices;
using Isolates.Tests.Support.Proxies;

using static Isolates.Tests.Proxies.ChildProxies;

namespace Isolates.Tests.Proxies;

/// <summary>
/// Objects living in a child-process isolate: creation, calls and release ride CallAsync's path to the child, so they
/// work as in-process; proxies of this process's objects go into a child, whose calls of them come back over the pipe.
/// </summary>
[TestFixture]
[CancelAfter(120_000)]
public class ChildProcessProxyTests
{
    [Test]
    public async Task CreateObjectAsync_InAChildProcess_CallsErrorsCancellationAndReleaseWork()
    {
        await using Isolate child = await Isolate.CreateAsync(Child("proxy-child"));
        IInventory inventory = await Wait.Bounded(child.CreateObjectAsync<IInventory, Inventory, string, int>("fig", 1));

        Assert.That(await Wait.Bounded(inventory.AddAsync("fig", 2)), Is.EqualTo(3));
        Assert.That((await inventory.ShipAsync(new Shipment("fig", 1, []))).Labels, Is.EqualTo(new[] { "fig" }));
        Task<int>[] calls = [.. Enumerable.Range(0, 100).Select(inventory.AppendAsync)];
        await Wait.Bounded(Task.WhenAll(calls));
        Assert.That(await inventory.LogAsync(), Is.EqualTo(Enumerable.Range(0, 100).ToArray()), "in order in the child too");

        IsolateExecutionException ex = Assert.ThrowsAsync<IsolateExecutionException>(() => inventory.ThrowAsync("child"))!;
        Assert.That(ex.RemoteStackTrace, Does.Contain(nameof(Inventory.ThrowAsync)));

        using var cts = new CancellationTokenSource();
        Task waiting = inventory.WaitForCancellationAsync(cts.Token);
        await Tests.Diagnostics.Poll.Until(() => inventory.IsWaitingAsync().Result, "the call to start waiting in the child");
        await cts.CancelAsync();
        Assert.That(async () => await Wait.Bounded(waiting), Throws.InstanceOf<OperationCanceledException>());
        await Tests.Diagnostics.Poll.Until(() => inventory.SawCancellationAsync().Result, "the token to reach the object in the child");

        await Wait.Bounded(Isolate.ReleaseAsync(inventory));
        Assert.That(await child.CallAsync(Inventory.Disposed), Is.EqualTo(1));
        Assert.That(() => inventory.CountAsync("fig").AsTask(), Throws.InstanceOf<IsolateClosedException>().With.Message.Contains("released"));
    }

    [Test]
    public async Task ProxyOfAChildsObject_PassedToAnInProcessIsolate_CallsTheChild()
    {
        await using Isolate child = await Isolate.CreateAsync(Child("proxy-child-owner"));
        await using Isolate local = await Isolate.CreateAsync();
        IInventory inventory = await Wait.Bounded(child.CreateObjectAsync<IInventory, Inventory>());

        Passed passed = await Wait.Bounded(local.CallAsync(ProxyFunctions.AddThroughAsync, inventory, 4));

        Assert.That(passed.Count, Is.EqualTo(4));
        Assert.That(await inventory.CountAsync("apple"), Is.EqualTo(4));
    }

    [Test]
    public async Task ProxyOfAnInProcessObject_PassedToAChildProcess_CallsComeBackToItsIsolateInOrder()
    {
        await using Isolate child = await Isolate.CreateAsync(Child("proxy-into-child"));
        await using Isolate local = await Isolate.CreateAsync(new IsolateOptions { Name = "proxy-owner" });
        IInventory inventory = await local.CreateObjectAsync<IInventory, Inventory>();

        Passed passed = await Wait.Bounded(child.CallAsync(ProxyFunctions.AddThroughAsync, inventory, 5));
        int[] log = await Wait.Bounded(child.CallAsync(ChildProxyFunctions.AppendManyAsync, inventory, 200));

        Assert.That(passed.Count, Is.EqualTo(5));
        Assert.That(passed.ObjectIsolate, Is.EqualTo(local.Id), "the object ran in its own isolate, not in the child");
        Assert.That(passed.OwnProxyType, Is.True, "the child built its own proxy type");
        Assert.That(await inventory.CountAsync("apple"), Is.EqualTo(5));
        Assert.That(log, Is.EqualTo(Enumerable.Range(0, 200).ToArray()), "calls made in the child without waiting run in the order they were made");
        Assert.That(await child.CallAsync(ChildProxyFunctions.ProcessId), Is.Not.EqualTo(Environment.ProcessId));
    }

    [Test]
    public async Task ProxyInAChildProcess_ErrorsAndCancellation_CrossBackWithTheOwnersIdentity()
    {
        await using Isolate child = await Isolate.CreateAsync(Child("proxy-into-child-errors"));
        await using Isolate local = await Isolate.CreateAsync(new IsolateOptions { Name = "proxy-owner-errors" });
        IInventory inventory = await local.CreateObjectAsync<IInventory, Inventory>();

        string error = await Wait.Bounded(child.CallAsync(ChildProxyFunctions.ThrowThroughAsync, inventory));
        bool cancelled = await Wait.Bounded(child.CallAsync(ChildProxyFunctions.CancelThroughAsync, inventory));

        Assert.That(error, Does.StartWith("IsolateExecutionException|System.InvalidOperationException|from the child"));
        Assert.That(error, Does.EndWith("|True"), "the remote stack names the object's method");
        Assert.That(cancelled, Is.True, "the child's token reached the object in the host's isolate");
        Assert.That(await inventory.AddAsync("after", 1), Is.EqualTo(1), "the object stays usable");
    }

    [Test]
    public async Task ProxyInAChildProcess_ReleasedFromTheChild_IsReleasedInItsIsolateAndCallsFailNamingIt()
    {
        await using Isolate child = await Isolate.CreateAsync(Child("proxy-release-child"));
        await using Isolate local = await Isolate.CreateAsync(new IsolateOptions { Name = "proxy-release-owner" });
        IInventory inventory = await local.CreateObjectAsync<IInventory, Inventory>();
        await child.CallAsync(ChildProxyFunctions.Keep, inventory);
        Assert.That(await Wait.Bounded(child.CallAsync(ChildProxyFunctions.AddToKeptAsync, 2)), Is.EqualTo(2));

        await Wait.Bounded(child.CallAsync(ChildProxyFunctions.ReleaseKeptAsync));

        Assert.That(await local.CallAsync(Inventory.Disposed), Is.EqualTo(1), "released (and disposed) in its own isolate");
        Assert.That(await Wait.Bounded(child.CallAsync(ChildProxyFunctions.CallKeptAfterReleaseAsync)), Does.StartWith(nameof(IsolateClosedException)).And.Contains("released"));
        Assert.That(() => inventory.CountAsync("kept").AsTask(), Throws.InstanceOf<IsolateClosedException>().With.Message.Contains("released"));
    }

    [Test]
    public async Task ProxyInAChildProcess_ReturnedToTheHost_IsTheHostsOwnReference()
    {
        await using Isolate child = await Isolate.CreateAsync(Child("proxy-return-child"));
        await using Isolate local = await Isolate.CreateAsync();
        IInventory inventory = await local.CreateObjectAsync<IInventory, Inventory>();
        await child.CallAsync(ChildProxyFunctions.Keep, inventory);

        IInventory? back = await Wait.Bounded(child.CallAsync(ChildProxyFunctions.Kept));

        Assert.That(back, Is.EqualTo(inventory), "the same object reference, not a proxy of a proxy");
        Assert.That(await back!.AddAsync("back", 3), Is.EqualTo(3));
    }

    [Test]
    public async Task ProxyInAChildProcess_DroppedThere_IsForgottenByTheHostAndReleasedWhenUnreferenced()
    {
        await using Isolate child = await Isolate.CreateAsync(Child("proxy-drop-child"));
        await using Isolate local = await Isolate.CreateAsync(new IsolateOptions { Name = "proxy-drop-owner" });
        var link = LinkOf(child);
        await PassWithoutKeepingAsync(local, child);
        Assert.That(link.Objects.ExportCount, Is.EqualTo(1), "the host keeps what it sent while the child holds it");

        await child.CallAsync(ChildProxyFunctions.ForgetKept);

        await Tests.Diagnostics.Poll.Until(() => link.Objects.ExportCount == 0, "the child's drop to reach the host");
        await Tests.Diagnostics.Poll.Until(() =>
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            return local.CallAsync(Inventory.Disposed).Result == 1;
        }, "the object nobody references any more to be released in its isolate");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task PassWithoutKeepingAsync(Isolate local, Isolate child)
    {
        IInventory inventory = await local.CreateObjectAsync<IInventory, Inventory>();
        await child.CallAsync(ChildProxyFunctions.Keep, inventory);
    }

    [Test]
    public async Task ProxyInAChildProcess_ItsOwnerClosed_CallFailsNamingTheObject()
    {
        await using Isolate child = await Isolate.CreateAsync(Child("proxy-owner-gone-child"));
        Isolate local = await Isolate.CreateAsync(new IsolateOptions { Name = "proxy-gone-owner" });
        IInventory inventory = await local.CreateObjectAsync<IInventory, Inventory>();
        await child.CallAsync(ChildProxyFunctions.Keep, inventory);

        await local.CloseAsync();

        Assert.That(await Wait.Bounded(child.CallAsync(ChildProxyFunctions.CallKeptAfterReleaseAsync)),
            Does.StartWith(nameof(IsolateClosedException)).And.Contains("proxy-gone-owner").And.Contains(nameof(IInventory)));
    }

    [Test]
    public async Task ProxyInAChildProcess_ChildKilledDuringACallOfIt_TheHostsCallIsCancelled()
    {
        Isolate child = await Isolate.CreateAsync(Child("proxy-killed-child"));
        await using Isolate local = await Isolate.CreateAsync();
        IInventory inventory = await local.CreateObjectAsync<IInventory, Inventory>();
        Task<bool> waiting = child.CallAsync(ChildProxyFunctions.WaitThroughAsync, inventory);
        await Tests.Diagnostics.Poll.Until(() => inventory.IsWaitingAsync().Result, "the child's call to wait in the object");

        await child.KillAsync();

        Assert.That(async () => await Wait.Bounded(waiting), Throws.InstanceOf<IsolateClosedException>());
        await Tests.Diagnostics.Poll.Until(() => inventory.SawCancellationAsync().Result, "the call the killed child made to be cancelled in the object's isolate");
        Assert.That(ObjectsOf(child).ExportCount, Is.Zero);
    }

    [Test]
    public async Task HostService_InAChildProcessIsolate_RunsInTheHostWithErrorsAndCancellation()
    {
        var orders = new Orders();
        await using Isolate child = await Isolate.CreateAsync(Child("host-service-child") with { HostServices = new IsolateHostServices().Add<IOrders>(orders) });

        int last = await Wait.Bounded(child.CallAsync(ChildProxyFunctions.PlaceOrdersAsync, 20));
        string failure = await Wait.Bounded(child.CallAsync(ProxyFunctions.HostServiceFailureAsync));
        string missing = await Wait.Bounded(child.CallAsync(ProxyFunctions.MissingHostService));
        using var cts = new CancellationTokenSource();
        Task waiting = child.CallAsync(ChildProxyFunctions.WaitInHostServiceAsync, cts.Token);
        await Tests.Diagnostics.Poll.Until(() => orders.Waiting, "the child's call to wait in the host service");
        await cts.CancelAsync();

        Assert.That(last, Is.EqualTo(20));
        Assert.That(orders.Placed, Is.EqualTo(Enumerable.Range(0, 20).Select(i => "child-" + i)), "one caller's awaited calls arrive in order");
        Assert.That(orders.RanInIsolate, Is.False, "the service ran in the host, not in an isolate");
        Assert.That(failure, Is.EqualTo("System.ArgumentException: no such order"));
        Assert.That(missing, Does.Contain("HostServices").And.Contain(nameof(IInventory)));
        Assert.That(async () => await Wait.Bounded(waiting), Throws.InstanceOf<OperationCanceledException>());
        await Tests.Diagnostics.Poll.Until(() => orders.SawCancellation, "the child's cancellation to reach the host service");
        Assert.That(await child.CallAsync(ChildProxyFunctions.ProcessId), Is.Not.EqualTo(Environment.ProcessId));
    }

    [Test]
    public async Task HostService_InAChildProcess_ReturnsAndTakesBackProxies()
    {
        await using Isolate local = await Isolate.CreateAsync(new IsolateOptions { Name = "catalog-owner" });
        IInventory inventory = await local.CreateObjectAsync<IInventory, Inventory>();
        await using Isolate child = await Isolate.CreateAsync(Child("catalog-child") with { HostServices = new IsolateHostServices().Add<ICatalog>(new Catalog(inventory)) });

        int counted = await Wait.Bounded(child.CallAsync(ChildProxyFunctions.UseCatalogAsync, "plum", 6));

        Assert.That(counted, Is.EqualTo(6), "a proxy in the service's result was called from the child, then passed back through the service");
        Assert.That(await inventory.CountAsync("plum"), Is.EqualTo(6));
    }

    [Test]
    public async Task HostService_AdoptedByAPreWarmedChild_IsTheCreatorsService()
    {
        var orders = new Orders();
        IsolateOptions spares = Child("warm-host-service");
        await Isolate.KeepWarm(1, spares);
        try
        {
            await Tests.Diagnostics.Poll.Until(() => Isolate.WarmCount >= 1, "a spare child to be ready");
            await using Isolate child = await Isolate.CreateAsync(spares with { HostServices = new IsolateHostServices().Add<IOrders>(orders) });

            Assert.That(await Wait.Bounded(child.CallAsync(ChildProxyFunctions.PlaceOrdersAsync, 2)), Is.EqualTo(2));
            Assert.That(orders.Placed, Has.Count.EqualTo(2));
        }
        finally
        {
            await Isolate.KeepWarm(0, spares);
        }
    }

    [Test]
    public async Task ObjectCreatedByChildCode_ReturnedToTheHost_IsCalledPassedOnAndReleased()
    {
        await using Isolate child = await Isolate.CreateAsync(Child("child-own-object"));
        await using Isolate local = await Isolate.CreateAsync();

        IInventory own = await Wait.Bounded(child.CallAsync(ChildProxyFunctions.CreateOwnAsync, "kiwi", 2));
        Passed passed = await Wait.Bounded(local.CallAsync(ProxyFunctions.AddThroughAsync, own, 3));

        Assert.That(await own.AddAsync("kiwi", 1), Is.EqualTo(3), "it lives in the child, with the state its constructor gave it");
        Assert.That(passed.Count, Is.EqualTo(3), "an in-process isolate calls it through the host");
        Assert.That(own.ToString(), Does.Contain("child-own-object"));
        await Wait.Bounded(Isolate.ReleaseAsync(own));
        Assert.That(await child.CallAsync(Inventory.Disposed), Is.EqualTo(1));
        Assert.That(() => own.CountAsync("kiwi").AsTask(), Throws.InstanceOf<IsolateClosedException>().With.Message.Contains("released"));
    }

    [Test]
    public async Task ObjectCreatedByChildCode_DroppedByTheHost_IsReleasedInTheChild()
    {
        await using Isolate child = await Isolate.CreateAsync(Child("child-own-dropped"));
        var link = LinkOf(child);
        Assert.That(await Wait.Bounded(UseOwnOnceAsync(child)), Is.EqualTo(2));
        Assert.That(link.Objects.ImportCount, Is.EqualTo(1));

        await Tests.Diagnostics.Poll.Until(() =>
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            return link.Objects.ImportCount == 0 && child.CallAsync(ChildProxyFunctions.CollectThenDisposedAsync).Result == 1;
        }, "the host's drop to reach the child and the object to be released there");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<int> UseOwnOnceAsync(Isolate child)
    {
        IInventory own = await child.CallAsync(ChildProxyFunctions.CreateOwnAsync, "lime", 1);
        return await own.AddAsync("lime", 1);
    }

    [Test]
    public async Task ObjectCreatedByChildCode_PassedToAHostService_IsCalledBackInTheChildWhileItWaits()
    {
        await using Isolate child = await Isolate.CreateAsync(Child("child-own-reentrant") with { HostServices = new IsolateHostServices().Add<ICatalog>(new Catalog(null)) });

        Assert.That(await Wait.Bounded(child.CallAsync(ChildProxyFunctions.CountOwnThroughCatalogAsync, "date", 7)), Is.EqualTo(7));
    }

    [Test]
    public async Task ObjectCreatedByChildCode_InTheResultOfACallTheHostCancelled_IsReleasedInTheChild()
    {
        await using Isolate child = await Isolate.CreateAsync(Child("child-own-cancelled"));
        using var cts = new CancellationTokenSource();
        Task<IInventory> call = child.CallAsync(ChildProxyFunctions.CreateOwnAfterAsync, 300, cts.Token);
        await cts.CancelAsync();
        Assert.That(async () => await Wait.Bounded(call), Throws.InstanceOf<OperationCanceledException>());

        // The answer, with the proxy in it, arrives after the host stopped waiting: nobody here takes it in, so the
        // child must not keep the object for the host.
        await Tests.Diagnostics.Poll.Until(() => child.CallAsync(ChildProxyFunctions.CollectThenDisposedAsync).Result == 1,
            "the object in the unwanted answer to be released in the child");
        Assert.That(LinkOf(child).Objects.ImportCount, Is.Zero);
    }
}
