using System.Buffers;
using System.Runtime.CompilerServices;
using Isolates.Calls;
using Isolates.Processes;
using Isolates.Tests.Support.Proxies;
using MessagePack;

using static Isolates.Tests.Proxies.ChildProxies;

namespace Isolates.Tests.Proxies;

/// <summary>
/// The host's objects called from a child-process isolate, attacked: the export counts stay exact whatever crosses or
/// fails to cross the pipe (the host neither forgets an export the child holds nor keeps one it never sent), calls back
/// and forth do not hang, and frames a child could forge run nothing in the host.
/// </summary>
[TestFixture]
[CancelAfter(120_000)]
public class ChildProcessProxyAdversaryTests
{
    [Test]
    public async Task ProxyInACallWaitingForAPlace_CancelledBeforeItIsSent_HostForgetsTheExport()
    {
        await using Isolate child = await Isolate.CreateAsync(Child("adv-gate") with { MaxQueuedCalls = 1 });
        await using Isolate local = await Isolate.CreateAsync(new IsolateOptions { Name = "adv-gate-owner" });
        HostObjects objects = ObjectsOf(child);
        using var block = new CancellationTokenSource();
        Task blocking = child.CallAsync(ChildAdversaryFunctions.BlockAsync, block.Token); // holds the only place
        using var cancel = new CancellationTokenSource();
        Task waiting = await PassWhileWaitingAsync(local, child, cancel.Token);
        Assert.That(objects.ExportCount, Is.EqualTo(1), "exported when the call was made");

        await cancel.CancelAsync();

        Assert.That(async () => await Wait.Bounded(waiting), Throws.InstanceOf<OperationCanceledException>());
        await Tests.Diagnostics.Poll.Until(() => objects.ExportCount == 0, "the export of a call never sent to be given back");
        await block.CancelAsync();
        Assert.That(async () => await Wait.Bounded(blocking), Throws.InstanceOf<OperationCanceledException>());
        await ReleasedWhenUnreferencedAsync(local);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<Task> PassWhileWaitingAsync(Isolate local, Isolate child, CancellationToken cancellationToken)
    {
        IInventory inventory = await local.CreateObjectAsync<IInventory, Inventory>();
        return child.CallAsync(ProxyFunctions.Keep, inventory, cancellationToken);
    }

    [Test]
    public async Task ChannelEndInACallWaitingForAPlace_CancelledBeforeItIsSent_HostForgetsTheBridge()
    {
        await using Isolate child = await Isolate.CreateAsync(Child("adv-gate-channel") with { MaxQueuedCalls = 1 });
        ChildLink link = LinkOf(child);
        using var block = new CancellationTokenSource();
        Task blocking = child.CallAsync(ChildAdversaryFunctions.BlockAsync, block.Token);
        using var cancel = new CancellationTokenSource();
        Task<int> waiting = child.CallAsync(Isolates.Tests.Support.ChildChannelWork.ReadOneAsync, IsolateChannel.CreateUnbounded<int>().Reader, cancel.Token);
        Assert.That(link.BridgeCount, Is.EqualTo(1), "bridged when the call was made");

        await cancel.CancelAsync();

        Assert.That(async () => await Wait.Bounded(waiting), Throws.InstanceOf<OperationCanceledException>());
        await block.CancelAsync();
        Assert.That(async () => await Wait.Bounded(blocking), Throws.InstanceOf<OperationCanceledException>());
        await Tests.Diagnostics.Poll.Until(() => link.BridgeCount == 0, "the bridge of a call never sent to be forgotten", TimeSpan.FromSeconds(5));
    }

    [Test]
    [NonParallelizable]
    public async Task ProxyInACall_CancelledWhileTheCallIsEncoded_HostForgetsTheExport()
    {
        await using Isolate child = await Isolate.CreateAsync(Child("adv-encode"));
        await using Isolate local = await Isolate.CreateAsync(new IsolateOptions { Name = "adv-encode-owner" });
        HostObjects objects = ObjectsOf(child);
        using var cancel = new CancellationTokenSource();
        Task<int> call = await PassCancelledWhileEncodedAsync(local, child, new Tripwire(cancel.Cancel), cancel.Token);

        Assert.That(async () => await Wait.Bounded(call), Throws.InstanceOf<OperationCanceledException>());

        Assert.That(objects.ExportCount, Is.Zero, "the child never saw the call: the host must not keep its proxy for it");
        await ReleasedWhenUnreferencedAsync(local);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<Task<int>> PassCancelledWhileEncodedAsync(Isolate local, Isolate child, Tripwire labels, CancellationToken cancellationToken)
    {
        IInventory inventory = await local.CreateObjectAsync<IInventory, Inventory>();
        return child.CallAsync(ChildAdversaryFunctions.Ignore, inventory, new Shipment("wire", 1, labels), cancellationToken);
    }

    /// <summary>Labels whose enumeration (while the host encodes the call) runs <paramref name="onRead"/>.</summary>
    private sealed class Tripwire(Action onRead) : IReadOnlyList<string>
    {
        public int Count
        {
            get
            {
                onRead();
                return 0;
            }
        }

        public string this[int index] => throw new ArgumentOutOfRangeException(nameof(index));

        public IEnumerator<string> GetEnumerator()
        {
            onRead();
            yield break;
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    [Test]
    public async Task HostServiceResult_AProxyThenAChannelEnd_RefusedAndTheProxyNotKeptForTheChild()
    {
        await using Isolate local = await Isolate.CreateAsync(new IsolateOptions { Name = "adv-mixed-owner" });
        IInventory inventory = await local.CreateObjectAsync<IInventory, Inventory>();
        await using Isolate child = await Isolate.CreateAsync(Child("adv-mixed") with { HostServices = new IsolateHostServices().Add<IBackChannel>(new BackChannel(inventory)) });
        HostObjects objects = ObjectsOf(child);
        Assert.That(objects.ExportCount, Is.EqualTo(1), "the host service, for the child's whole life");

        string proxyFirst = await Wait.Bounded(child.CallAsync(ChildAdversaryFunctions.ProxyAndChannelAsync, true));
        string channelFirst = await Wait.Bounded(child.CallAsync(ChildAdversaryFunctions.ProxyAndChannelAsync, false));

        Assert.That(proxyFirst, Does.StartWith(nameof(NotShareableException)).And.Contains("channel end").And.Contains("result"));
        Assert.That(channelFirst, Does.StartWith(nameof(NotShareableException)).And.Contains("channel end").And.Contains("result"));
        Assert.That(objects.ExportCount, Is.EqualTo(1), "a proxy counted before the channel end was refused was never sent");
    }

    [Test]
    public async Task ProxyReturnedByTheChild_ItsLastReferenceThere_StaysExportedUntilTheResultArrives()
    {
        await using Isolate child = await Isolate.CreateAsync(Child("adv-echo"));
        await using Isolate local = await Isolate.CreateAsync(new IsolateOptions { Name = "adv-echo-owner" });
        IInventory inventory = await local.CreateObjectAsync<IInventory, Inventory>();
        await child.CallAsync(ChildAdversaryFunctions.StartCollecting);
        try
        {
            for (int i = 0; i < 3000; i++)
            {
                // Each result's proxy is unreferenced in the child once encoded: its drop must not overtake the result.
                IInventory back = await Wait.Bounded(child.CallAsync(ChildAdversaryFunctions.Echo, inventory));
                Assert.That(back, Is.EqualTo(inventory), $"round {i}");
            }
        }
        finally
        {
            await child.CallAsync(ChildAdversaryFunctions.StopCollecting);
        }
    }

    [Test]
    public async Task ProxyCalledByTheChild_ItsLastReferenceThere_TheCallReachesTheHostBeforeTheDrop()
    {
        await using Isolate child = await Isolate.CreateAsync(Child("adv-touch"));
        await using Isolate local = await Isolate.CreateAsync(new IsolateOptions { Name = "adv-touch-owner" });
        IInventory inventory = await local.CreateObjectAsync<IInventory, Inventory>();
        await child.CallAsync(ChildAdversaryFunctions.StartCollecting);
        try
        {
            for (int i = 0; i < 3000; i++)
            {
                // The proxy is unreferenced in the child once its call is encoded: its drop must not overtake the call.
                Assert.That(await Wait.Bounded(child.CallAsync(ChildAdversaryFunctions.TouchAsync, inventory)), Is.EqualTo(i + 1), $"round {i}");
            }
        }
        finally
        {
            await child.CallAsync(ChildAdversaryFunctions.StopCollecting);
        }
    }

    [Test]
    public async Task SameProxy_SentFromSeveralHostThreadsWhileTheChildDropsAndReimportsIt_CountsMeetAndTheObjectIsReleased()
    {
        await using Isolate child = await Isolate.CreateAsync(Child("adv-concurrent"));
        await using Isolate local = await Isolate.CreateAsync(new IsolateOptions { Name = "adv-concurrent-owner" });
        HostObjects objects = ObjectsOf(child);
        await child.CallAsync(ChildAdversaryFunctions.StartCollecting);
        try
        {
            int touched = await SendFromSeveralThreadsAsync(local, child, threads: 4, calls: 250);
            Assert.That(touched, Is.EqualTo(1000), "every call reached the object");
        }
        finally
        {
            await child.CallAsync(ChildAdversaryFunctions.StopCollecting);
        }

        await child.CallAsync(ChildProxyFunctions.ForgetKept); // collects in the child: every import left is dropped
        await Tests.Diagnostics.Poll.Until(() => objects.ExportCount == 0, "every send to be dropped by the child");
        await ReleasedWhenUnreferencedAsync(local);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<int> SendFromSeveralThreadsAsync(Isolate local, Isolate child, int threads, int calls)
    {
        IInventory inventory = await local.CreateObjectAsync<IInventory, Inventory>();
        await Task.WhenAll(Enumerable.Range(0, threads).Select(_ => Task.Run(async () =>
        {
            for (int i = 0; i < calls; i++)
            {
                await Wait.Bounded(child.CallAsync(ChildAdversaryFunctions.TouchAsync, inventory));
            }
        })));
        return await inventory.CountAsync("touch");
    }

    [Test]
    public async Task HostService_CallingTheChildBackWhileItWaits_DoesNotHang()
    {
        var service = new BackChannel(null!);
        await using Isolate child = await Isolate.CreateAsync(Child("adv-reentrant") with { HostServices = new IsolateHostServices().Add<IBackChannel>(service) });
        service.Child = child;

        int depth = await Wait.Bounded(child.CallAsync(ChildAdversaryFunctions.CallHostBackAsync, 6));

        Assert.That(depth, Is.EqualTo(6), "child -> host -> child ... six calls deep, each side's thread awaiting the other");
        Assert.That(await Wait.Bounded(child.CallAsync(ChildAdversaryFunctions.NothingIsNullAsync)), Is.True, "a null result where a proxy may be");
    }

    [Test]
    public async Task ProxyOfTheChildsOwnObject_PassedIntoIt_LargeCallsBothWaysAtOnceDoNotDeadlockThePipe()
    {
        await using Isolate child = await Isolate.CreateAsync(Child("adv-self"));
        IInventory own = await Wait.Bounded(child.CreateObjectAsync<IInventory, Inventory>());
        const int Count = 12, Length = 1 << 20; // each frame four times a socket's buffer

        // child -> host (object call) -> child (the object's call) -> host (its result) -> child (the object call's result),
        // all pipelined: the host's reader sends to the child while the child sends to the host.
        long total = await Wait.Bounded(child.CallAsync(ChildAdversaryFunctions.ShipManyAsync, own, Count, Length));

        Assert.That(total, Is.EqualTo((long)Count * (Length + "default".Length)));
    }

    [Test]
    public async Task ChildClosedDuringACallOfAHostObject_TheHostsCallIsCancelledAndTheChildClosesCleanly()
    {
        Isolate child = await Isolate.CreateAsync(Child("adv-close-during"));
        await using Isolate local = await Isolate.CreateAsync(new IsolateOptions { Name = "adv-close-owner" });
        IInventory inventory = await local.CreateObjectAsync<IInventory, Inventory>();
        Task<bool> waiting = child.CallAsync(ChildProxyFunctions.WaitThroughAsync, inventory);
        await Tests.Diagnostics.Poll.Until(() => inventory.IsWaitingAsync().Result, "the child's call to wait in the object");

        await Wait.Bounded(child.CloseAsync());

        Assert.That(async () => await Wait.Bounded(waiting), Throws.InstanceOf<IsolateClosedException>());
        Assert.That((await Wait.Bounded(child.Exited)).Reason, Is.EqualTo(IsolateExitReason.Closed), "closed, not killed as stuck: the call in the host did not hold the child");
        await Tests.Diagnostics.Poll.Until(() => inventory.SawCancellationAsync().Result, "the closing child's call to be cancelled in the object's isolate");
        Assert.That(ObjectsOf(child).ExportCount, Is.Zero);
        Assert.That(await inventory.AddAsync("after", 1), Is.EqualTo(1), "the object stays usable");
    }

    [Test]
    public async Task ProxyOfAnotherChildsObject_PassedIntoAChild_CallsGoThroughTheHostAndComeBackAsTheSameReference()
    {
        await using Isolate owner = await Isolate.CreateAsync(Child("adv-owner-child"));
        await using Isolate caller = await Isolate.CreateAsync(Child("adv-caller-child"));
        HostObjects objects = ObjectsOf(caller);
        IInventory inventory = await Wait.Bounded(owner.CreateObjectAsync<IInventory, Inventory>());

        Passed passed = await Wait.Bounded(caller.CallAsync(ProxyFunctions.AddThroughAsync, inventory, 3));
        IInventory back = await Wait.Bounded(caller.CallAsync(ChildAdversaryFunctions.Echo, inventory));

        Assert.That(passed.Count, Is.EqualTo(3));
        Assert.That(passed.ObjectIsolate, Is.Not.EqualTo(caller.Id), "the object ran in its own child, not in the caller");
        Assert.That(back, Is.EqualTo(inventory));
        Assert.That(await inventory.CountAsync("apple"), Is.EqualTo(3));
        await caller.CallAsync(ChildProxyFunctions.ForgetKept); // collects in the caller: its imports are dropped
        await Tests.Diagnostics.Poll.Until(() => objects.ExportCount == 0, "the caller's drops to reach the host");
    }

    [Test]
    public async Task ReleaseAsyncInTheChild_TwiceAtOnceWithACallBefore_OneReleaseAfterTheCall()
    {
        await using Isolate child = await Isolate.CreateAsync(Child("adv-release-twice"));
        await using Isolate local = await Isolate.CreateAsync(new IsolateOptions { Name = "adv-release-owner" });
        IInventory inventory = await local.CreateObjectAsync<IInventory, Inventory>();

        string seen = await Wait.Bounded(child.CallAsync(ChildAdversaryFunctions.ReleaseTwiceAsync, inventory));

        Assert.That(seen, Is.EqualTo($"1|True|{nameof(IsolateClosedException)}"), "the call made first ran; both releases are one; a call after fails");
        Assert.That(await local.CallAsync(Inventory.Disposed), Is.EqualTo(1));
    }

    [Test]
    public async Task ForgedObjectCalls_NoSuchExportOrNotADispatcherOrAnotherInterface_RunNothingAndTheChildGoesOn()
    {
        await using Isolate child = await Isolate.CreateAsync(Child("adv-forged"));
        await using Isolate local = await Isolate.CreateAsync(new IsolateOptions { Name = "adv-forged-owner" });
        IInventory inventory = await local.CreateObjectAsync<IInventory, Inventory>();
        await child.CallAsync(ChildProxyFunctions.Keep, inventory);
        HostObjects objects = ObjectsOf(child);
        Assert.That(objects.ExportCount, Is.EqualTo(1));
        const long Export = 1; // the link's first export

        System.Reflection.MethodInfo notADispatcher = typeof(NotADispatcher).GetMethod(nameof(NotADispatcher.Stub))!;
        System.Reflection.MethodInfo otherInterface = typeof(IOrders).Assembly.GetTypes()
            .Single(t => t.Name.EndsWith("IOrders_IsolateDispatcher", StringComparison.Ordinal)).GetMethod(nameof(IOrders.FailAsync))!;
        System.Reflection.MethodInfo realStub = typeof(IInventory).Assembly.GetTypes()
            .Single(t => t.Name.EndsWith("IInventory_IsolateDispatcher", StringComparison.Ordinal)).GetMethod(nameof(IInventory.ResetAsync))!;

        Assert.That(() => ObjectStub.For(notADispatcher.Module.Assembly.FullName!, notADispatcher.MetadataToken, typeof(IInventory).FullName!),
            Throws.InstanceOf<NotShareableException>().With.Message.Contains("not a dispatcher stub"));
        Assert.That(() => ObjectStub.For(otherInterface.Module.Assembly.FullName!, otherInterface.MetadataToken, typeof(IInventory).FullName!),
            Throws.InstanceOf<NotShareableException>().With.Message.Contains("exported as"));

        long id = 1_000_000; // call ids the child never uses: their answers are ignored there
        objects.OnCall(id++, Forge(Export, notADispatcher));
        objects.OnCall(id++, Forge(Export, otherInterface));
        objects.OnCall(id++, Forge(424242, realStub)); // an export never sent
        objects.OnCall(id++, Forge(Export, realStub.Module.Assembly.FullName!, 0x7FFFFFFF)); // no such token
        objects.OnCall(id++, Forge(Export, "No.Such.Assembly, Version=1.0.0.0", realStub.MetadataToken));
        objects.OnCall(id++, [0xC1, 0xFF, 0x00]); // not even MessagePack
        objects.OnRelease(id++, [1, 2, 3]); // a release of nothing readable
        objects.OnDrop(Export, [1]); // a drop of the wrong length
        objects.OnCancel(123_456_789); // a cancel of nothing

        Assert.That(NotADispatcher.Ran(), Is.Zero, "the host ran no method a child named");
        Assert.That(await local.CallAsync(NotADispatcher.Ran), Is.Zero, "nor did the object's isolate");
        Assert.That(objects.ExportCount, Is.EqualTo(1), "forged frames change no count");
        Assert.That(await Wait.Bounded(child.CallAsync(ChildProxyFunctions.AddToKeptAsync, 2)), Is.EqualTo(2), "the child's own calls go on");
        Assert.That(await inventory.CountAsync("kept"), Is.EqualTo(2));
    }

    [Test]
    public async Task ForgedObjectCall_UnderTheIdOfARunningCall_IgnoredAndTheRunningCallStaysCancellable()
    {
        await using Isolate child = await Isolate.CreateAsync(Child("adv-duplicate"));
        await using Isolate local = await Isolate.CreateAsync(new IsolateOptions { Name = "adv-duplicate-owner" });
        IInventory inventory = await local.CreateObjectAsync<IInventory, Inventory>();
        HostObjects objects = ObjectsOf(child);
        await child.CallAsync(ChildAdversaryFunctions.StartWaiting, inventory);
        await Tests.Diagnostics.Poll.Until(() => inventory.IsWaitingAsync().Result, "the child's call to wait in the object");
        var running = (System.Collections.Concurrent.ConcurrentDictionary<long, CancellationTokenSource>)typeof(HostObjects)
            .GetField("_running", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(objects)!;
        long waitingCall = running.Keys.Single();

        objects.OnCall(waitingCall, Forge(1, typeof(NotADispatcher).GetMethod(nameof(NotADispatcher.Stub))!));

        Assert.That(await Wait.Bounded(child.CallAsync(ChildAdversaryFunctions.CancelWaitingAsync)), Is.EqualTo("cancelled"), "the forged frame answered nothing in the running call's name");
        await Tests.Diagnostics.Poll.Until(() => inventory.SawCancellationAsync().Result, "the child's cancellation to reach the object");
    }

    private static byte[] Forge(long export, System.Reflection.MethodInfo stub) => Forge(export, stub.Module.Assembly.FullName!, stub.MetadataToken);

    private static byte[] Forge(long export, string assembly, int token)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        new ObjectCallHeader(export, assembly, token, ResultShape.TaskOfT, []).Write(ref writer);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The owner's only object is released once this process drops its last reference (nothing kept for a child).</summary>
    private static async Task ReleasedWhenUnreferencedAsync(Isolate local) =>
        await Tests.Diagnostics.Poll.Until(() =>
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            return local.CallAsync(Inventory.Disposed).Result == 1;
        }, "the object nobody references any more to be released in its isolate");
}
