using System.Runtime.CompilerServices;
using Isolates.Tests.Diagnostics;
using Isolates.Tests.Support.Proxies;

namespace Isolates.Tests.Proxies;

/// <summary>Objects living in an isolate, called through generated proxies (issue 15).</summary>
[TestFixture]
[CancelAfter(60_000)]
public class ProxyTests
{
    [Test]
    public async Task CreateObjectAsync_CallsRunOnTheIsolatesThread_AndKeepState()
    {
        await using Isolate iso = await Isolate.CreateAsync();
        IInventory inventory = await Wait.Bounded(iso.CreateObjectAsync<IInventory, Inventory>());

        Assert.That(await inventory.AddAsync("apple", 3), Is.EqualTo(3));
        Assert.That(await inventory.AddAsync("apple", 4), Is.EqualTo(7));
        Assert.That(await inventory.CountAsync("apple"), Is.EqualTo(7));
        await inventory.TouchAsync();
        await inventory.ResetAsync();
        Assert.That(await inventory.CountAsync("apple"), Is.Zero);
        (long isolateId, bool ownThread) = await inventory.WhereAsync();
        Assert.That(isolateId, Is.EqualTo(iso.Id));
        Assert.That(ownThread, Is.True);
        Assert.That(inventory.ToString(), Does.Contain(nameof(IInventory)).And.Contain(iso.Name));
    }

    [Test]
    public async Task CreateObjectAsync_ConstructorArgumentsAndRecords_CrossAsCopies()
    {
        await using Isolate iso = await Isolate.CreateAsync();
        IInventory inventory = await Wait.Bounded(iso.CreateObjectAsync<IInventory, Inventory, string, int>("pear", 5));

        Assert.That(await inventory.CountAsync("pear"), Is.EqualTo(5));
        var sent = new Shipment("pear", 2, ["fragile"]);
        Shipment back = await inventory.ShipAsync(sent);
        Assert.That(back.Count, Is.EqualTo(4));
        Assert.That(back.Labels, Is.EqualTo(new[] { "fragile", "pear" }));
        Assert.That(sent.Labels, Has.Count.EqualTo(1), "the caller's record is a copy the object cannot change");
    }

    [Test]
    public async Task ProxyCalls_MadeWithoutAwaiting_RunOneAtATimeInTheOrderMade()
    {
        await using Isolate iso = await Isolate.CreateAsync();
        IInventory inventory = await iso.CreateObjectAsync<IInventory, Inventory>();

        Task<int>[] calls = [.. Enumerable.Range(0, 500).Select(inventory.AppendAsync)];
        await Wait.Bounded(Task.WhenAll(calls));

        Assert.That(await inventory.LogAsync(), Is.EqualTo(Enumerable.Range(0, 500).ToArray()));
    }

    [Test]
    public async Task ProxyCall_ThatThrows_FailsWithTheRemoteStack_AndTheObjectStaysUsable()
    {
        await using Isolate iso = await Isolate.CreateAsync();
        IInventory inventory = await iso.CreateObjectAsync<IInventory, Inventory, string, int>("kiwi", 1);

        IsolateExecutionException ex = Assert.ThrowsAsync<IsolateExecutionException>(() => inventory.ThrowAsync("out of stock"))!;
        Assert.That(ex.RemoteType, Is.EqualTo(typeof(InvalidOperationException).FullName));
        Assert.That(ex.Message, Does.Contain("out of stock (kiwi)"));
        Assert.That(ex.RemoteStackTrace, Does.Contain(nameof(Inventory.ThrowAsync)));
        Assert.That(await inventory.AddAsync("kiwi", 1), Is.EqualTo(2), "the object is still there and usable");
    }

    [Test]
    public async Task ProxyCall_CancelledByItsToken_CancelsAtOnce_AndTheObjectSeesItsTokenCancelled()
    {
        await using Isolate iso = await Isolate.CreateAsync();
        IInventory inventory = await iso.CreateObjectAsync<IInventory, Inventory>();
        using var cts = new CancellationTokenSource();

        Task waiting = inventory.WaitForCancellationAsync(cts.Token);
        await Poll.Until(() => inventory.IsWaitingAsync().Result, "the call to start waiting in the isolate");
        Assert.That(waiting.IsCompleted, Is.False);
        await cts.CancelAsync();

        Assert.That(async () => await Wait.Bounded(waiting), Throws.InstanceOf<OperationCanceledException>());
        await Poll.Until(() => inventory.SawCancellationAsync().Result, "the object's token to be cancelled inside the isolate");
        Assert.That(await inventory.CountAsync("x"), Is.Zero, "the object stays usable");
    }

    [Test]
    public async Task ReleaseAsync_DisposesTheObjectInItsIsolate_AndLaterCallsFailNamingTheObject()
    {
        await using Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Name = "release-test" });
        IInventory inventory = await iso.CreateObjectAsync<IInventory, Inventory>();
        await inventory.AddAsync("apple", 1);
        Assert.That(iso.ObjectCount, Is.EqualTo(1));

        await Wait.Bounded(Isolate.ReleaseAsync(inventory));

        Assert.That(iso.ObjectCount, Is.Zero);
        Assert.That(await iso.CallAsync(Inventory.Disposed), Is.EqualTo(1), "Dispose ran inside the isolate");
        IsolateClosedException ex = Assert.ThrowsAsync<IsolateClosedException>(() => inventory.AddAsync("apple", 1))!;
        Assert.That(ex.Message, Does.Contain(typeof(IInventory).FullName).And.Contain("released").And.Contain("release-test"));
        Assert.That(async () => await Isolate.ReleaseAsync(inventory), Throws.Nothing, "releasing twice does nothing");
    }

    [Test]
    public async Task ProxyCall_AfterTheIsolateClosed_FailsWithIsolateClosedExceptionNamingTheObject()
    {
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Name = "closing-owner" });
        IInventory inventory = await iso.CreateObjectAsync<IInventory, Inventory>();
        await iso.CloseAsync();

        IsolateClosedException ex = Assert.ThrowsAsync<IsolateClosedException>(() => inventory.AddAsync("apple", 1))!;
        Assert.That(ex.Message, Does.Contain(typeof(IInventory).FullName).And.Contain("closing-owner").And.Contain("closed"));
        Assert.That(async () => await Isolate.ReleaseAsync(inventory), Throws.Nothing, "the object went with its isolate");
    }

    [Test]
    public async Task Proxy_NobodyReferencesIt_IsReleasedInItsIsolate()
    {
        await using Isolate iso = await Isolate.CreateAsync();
        await CreateAndDropAsync(iso);

        await Poll.Until(() =>
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            return iso.ObjectCount == 0;
        }, "the unreferenced object to be released");
        Assert.That(await iso.CallAsync(Inventory.Disposed), Is.EqualTo(1), "released objects are disposed");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task CreateAndDropAsync(Isolate iso)
    {
        IInventory inventory = await iso.CreateObjectAsync<IInventory, Inventory>();
        await inventory.AddAsync("apple", 1);
        Assert.That(iso.ObjectCount, Is.EqualTo(1));
    }

    [Test]
    public async Task Proxy_PassedBetweenThreeIsolates_CallsTheOneObjectWhereItLives()
    {
        await using Isolate owner = await Isolate.CreateAsync(new IsolateOptions { Name = "proxy-owner" });
        await using Isolate middle = await Isolate.CreateAsync(new IsolateOptions { Name = "proxy-middle" });
        await using Isolate last = await Isolate.CreateAsync(new IsolateOptions { Name = "proxy-last" });
        IInventory inventory = await owner.CreateObjectAsync<IInventory, Inventory>();

        // host -> middle -> last: the middle isolate passes the proxy on itself.
        (int count, bool ownProxyType, long objectIsolate) = await Wait.Bounded(middle.CallAsync(ProxyFunctions.ForwardAsync, inventory, "proxy-last", 5));
        Assert.That(count, Is.EqualTo(5));
        Assert.That(ownProxyType, Is.True, "the last isolate got a proxy of its own copy of the interface");
        Assert.That(objectIsolate, Is.EqualTo(owner.Id));

        // Kept in one isolate, handed back to the host as a result, passed to a third.
        await middle.CallAsync(ProxyFunctions.Keep, inventory);
        IInventory? returned = await middle.CallAsync(ProxyFunctions.Kept);
        Assert.That(returned, Is.EqualTo(inventory), "a proxy that went round trip refers to the same object");
        (count, _, _) = await last.CallAsync(ProxyFunctions.AddThroughAsync, returned!, 2);
        Assert.That(count, Is.EqualTo(7));
        Assert.That(await inventory.CountAsync("apple"), Is.EqualTo(7));
    }

    [Test]
    public async Task CreateObjectAsync_FromIsolateCode_CreatesInAnotherIsolate()
    {
        await using Isolate owner = await Isolate.CreateAsync(new IsolateOptions { Name = "proxy-created-from-isolate" });
        await using Isolate creator = await Isolate.CreateAsync();

        Assert.That(await Wait.Bounded(creator.CallAsync(ProxyFunctions.CreateElsewhereAsync, "proxy-created-from-isolate")), Is.EqualTo(3));
        Assert.That(owner.ObjectCount, Is.EqualTo(1));
    }

    [Test]
    public async Task HostService_UsedFromAPool_RunsInTheHost()
    {
        var orders = new Orders();
        await using var pool = await IsolatePool.CreateAsync(new IsolatePoolOptions
        {
            Size = 2,
            IsolateOptions = new IsolateOptions { HostServices = new IsolateHostServices().Add<IOrders>(orders) },
        });

        int[] numbers = await Wait.Bounded(Task.WhenAll(Enumerable.Range(0, 20).Select(i => pool.SubmitAsync(ProxyFunctions.PlaceOrderAsync, "item-" + i))));

        Assert.That(numbers.Order(), Is.EqualTo(Enumerable.Range(1, 20)));
        Assert.That(orders.Placed.Order(), Is.EqualTo(Enumerable.Range(0, 20).Select(i => "item-" + i).Order()));
        Assert.That(orders.RanInIsolate, Is.False, "host services run in the host, not in the calling isolate");
    }

    [Test]
    public async Task HostService_ThatThrows_FailsWithIsolateExecutionException()
    {
        await using Isolate iso = await Isolate.CreateAsync(new IsolateOptions { HostServices = new IsolateHostServices().Add<IOrders>(new Orders()) });

        string failure = await Wait.Bounded(iso.CallAsync(ProxyFunctions.HostServiceFailureAsync));

        Assert.That(failure, Does.StartWith(typeof(ArgumentException).FullName + ": no such order"));
    }

    [Test]
    public async Task GetHostService_NotRegistered_SaysHowToAddIt()
    {
        await using Isolate iso = await Isolate.CreateAsync();

        Assert.That(await iso.CallAsync(ProxyFunctions.MissingHostService), Does.Contain("HostServices").And.Contain(nameof(IInventory)));
    }

    [Test]
    public void IsolateHostServices_Add_ValidatesTheInterface()
    {
        var services = new IsolateHostServices();
        Assert.That(() => services.Add<IDisposable>(new MemoryStream()), Throws.ArgumentException.With.Message.Contains("[IsolateInterface]"));
        Assert.That(() => services.Add<IOrders>(null!), Throws.ArgumentNullException);
        services.Add<IOrders>(new Orders());
        Assert.That(() => services.Add<IOrders>(new Orders()), Throws.ArgumentException.With.Message.Contains("registered already"));
    }

    [Test]
    public async Task CreateObjectAsync_InvalidTypes_FailWithClearExceptions()
    {
        await using Isolate iso = await Isolate.CreateAsync();

        Assert.That(() => iso.CreateObjectAsync<IDisposable, MemoryStream>(), Throws.ArgumentException.With.Message.Contains("[IsolateInterface]"));
        Assert.That(() => iso.CreateObjectAsync<IInventory, Inventory, int>(3), Throws.ArgumentException.With.Message.Contains("no public constructor taking (Int32)"));
        Assert.That(() => Isolate.ReleaseAsync(new Inventory()), Throws.ArgumentException.With.Message.Contains("not a proxy"));
        Assert.That(async () => await iso.CallAsync(ProxyFunctions.Keep, (IInventory)new Inventory()),
            Throws.InstanceOf<NotShareableException>().With.Message.Contains("not a proxy"));
    }

    [Test]
    public void GeneratedProxy_UnsupportedMember_ThrowsNamingIt()
    {
        Type proxyType = typeof(IAwkward).Assembly.GetType("Isolates.Generated.Isolates_Tests_Support_Proxies_IAwkward_IsolateProxy", throwOnError: true)!;
        var create = proxyType.GetMethod("Create")!;
        var awkward = (IAwkward)create.Invoke(null, [null])!;

        Assert.That(() => awkward.Synchronous(), Throws.InstanceOf<NotSupportedException>().With.Message.Contains("IAwkward.Synchronous").And.Message.Contains("Task"));
        Assert.That(() => awkward.Name, Throws.InstanceOf<NotSupportedException>().With.Message.Contains("property"));
    }
    [Test]
    public async Task Proxies_KeptByTheHostAndByAnotherIsolate_DoNotPinClosedIsolates()
    {
        Isolate owner = await Isolate.CreateAsync();
        Isolate holder = await Isolate.CreateAsync();
        IInventory inventory = await owner.CreateObjectAsync<IInventory, Inventory>();
        await holder.CallAsync(ProxyFunctions.Keep, inventory); // the holder's own proxy type, in a static field

        await holder.CloseAsync();
        Assert.That(await Wait.Bounded(holder.Unloaded), Is.EqualTo(UnloadStatus.Unloaded), "a proxy kept by a closed isolate must not pin it");

        await owner.CloseAsync();
        Assert.That(await Wait.Bounded(owner.Unloaded), Is.EqualTo(UnloadStatus.Unloaded), "the host's proxy must not pin the object's closed isolate");
        GC.KeepAlive(inventory);
    }
    [Test]
    public async Task ReleaseAsync_WhileCallsAreBeingMade_EveryCallRunsBeforeItOrFailsAsClosed()
    {
        await using Isolate iso = await Isolate.CreateAsync();
        for (int attempt = 0; attempt < 20; attempt++)
        {
            IInventory inventory = await iso.CreateObjectAsync<IInventory, Inventory>();
            using var start = new ManualResetEventSlim();
            Task<Task<int>[]>[] callers = [.. Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
            {
                start.Wait();
                return Enumerable.Range(0, 200).Select(i => inventory.AddAsync("apple", 1)).ToArray();
            }))];
            start.Set();
            Thread.SpinWait(2_000);
            await Wait.Bounded(Isolate.ReleaseAsync(inventory));
            Task<int>[] calls = [.. (await Wait.Bounded(Task.WhenAll(callers))).SelectMany(c => c)];
            await Wait.Bounded(Task.WhenAll(calls).ContinueWith(_ => { }, TaskScheduler.Default));

            foreach (Task<int> call in calls)
            {
                Assert.That(call.IsCompletedSuccessfully || call.Exception?.InnerException is IsolateClosedException, Is.True,
                    $"a call racing with the release ended as {call.Status}: {call.Exception?.InnerException}");
            }
        }
    }
    [Test]
    public async Task CreateObjectAsync_CancelledWhileTheIsolateIsBusy_CancelsAtOnce_AndTheObjectBuiltLaterIsReleased()
    {
        await using Isolate iso = await Isolate.CreateAsync();
        Task busy = iso.CallAsync(Support.Work.Sleep, 300);
        using var cts = new CancellationTokenSource();

        Task<IInventory> creating = iso.CreateObjectAsync<IInventory, Inventory>(cts.Token);
        await cts.CancelAsync();

        Assert.That(async () => await Wait.Bounded(creating), Throws.InstanceOf<OperationCanceledException>());
        await Wait.Bounded(busy);
        await Poll.Until(() => iso.CallAsync(Inventory.Disposed).Result == 1, "the object constructed after the cancellation to be released");
        Assert.That(iso.ObjectCount, Is.Zero);
    }
    [Test]
    public async Task HostService_CallCancelled_CancelsAtOnce_AndTheServiceSeesItsTokenCancelled()
    {
        var orders = new Orders();
        await using Isolate iso = await Isolate.CreateAsync(new IsolateOptions { HostServices = new IsolateHostServices().Add<IOrders>(orders) });
        IOrders proxy = iso.GetHostService<IOrders>(); // usable from host code too: the same host call path
        using var cts = new CancellationTokenSource();

        Task waiting = proxy.WaitAsync(cts.Token);
        await Poll.Until(() => orders.Waiting, "the service to be called");
        await cts.CancelAsync();

        Assert.That(async () => await Wait.Bounded(waiting), Throws.InstanceOf<OperationCanceledException>());
        await Poll.Until(() => orders.SawCancellation, "the service's token to be cancelled");
        Assert.That(() => Isolate.ReleaseAsync(proxy), Throws.InvalidOperationException.With.Message.Contains("host"));
    }
}
