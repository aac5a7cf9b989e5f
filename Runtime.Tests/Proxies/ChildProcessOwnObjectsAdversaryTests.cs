using System.Buffers;
using System.Runtime.CompilerServices;
using Isolates.Calls;
using Isolates.CompilerServices;
using Isolates.Processes;
using Isolates.Tests.Support.Proxies;
using MessagePack;

using static Isolates.Tests.Proxies.ChildProxies;

namespace Isolates.Tests.Proxies;

/// <summary>
/// Objects a child-process isolate's code creates in its own isolate and hands to the host, attacked: the child keeps
/// each exactly as long as the host references it (no leak, no release under the host's feet), whatever the order of
/// sends, drops, releases, garbage collections and the child's end.
/// </summary>
[TestFixture]
[CancelAfter(120_000)]
public class ChildProcessOwnObjectsAdversaryTests
{
    private static void Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    [Test]
    public async Task CallOfAChildsObject_WaitingForAPlace_HostDropDoesNotOvertakeIt()
    {
        await using Isolate child = await Isolate.CreateAsync(Child("own-gate") with { MaxQueuedCalls = 1 });
        HostObjects objects = ObjectsOf(child);
        await child.CallAsync(ChildAdversaryFunctions.StartCollecting); // the child releases what it no longer keeps at once
        using var block = new CancellationTokenSource();
        (Task blocking, Task<int> queued) = await QueueCallOfOwnThenDropAsync(child, block.Token);

        // The host let go of its proxy while its call waits for a place: the drop must not reach the child before the call.
        await Tests.Diagnostics.Poll.Until(() =>
        {
            Collect();
            return objects.ImportCount == 0;
        }, "the host's proxy to be collected");
        await Task.Delay(300); // time for a drop sent too early to reach the child and the object to be released there
        await block.CancelAsync();

        Assert.That(async () => await Wait.Bounded(blocking), Throws.InstanceOf<OperationCanceledException>());
        int added = 0;
        Assert.That(async () => added = await Wait.Bounded(queued), Throws.Nothing, "the call made before the drop runs on the live object");
        Assert.That(added, Is.EqualTo(2));
        await child.CallAsync(ChildAdversaryFunctions.StopCollecting);
        await Tests.Diagnostics.Poll.Until(() => child.CallAsync(ChildProxyFunctions.CollectThenDisposedAsync).Result == 1,
            "the object to be released in the child once the call was answered");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<(Task Blocking, Task<int> Queued)> QueueCallOfOwnThenDropAsync(Isolate child, CancellationToken block)
    {
        IInventory own = await child.CallAsync(ChildProxyFunctions.CreateOwnAsync, "gate", 1);
        Task blocking = child.CallAsync(ChildAdversaryFunctions.BlockAsync, block); // holds the only place
        return (blocking, own.AddAsync("gate", 1));
    }

    [Test]
    public async Task ObjectCallFrame_ChildsObjectThenAnUnknownExport_RefusedWithoutTakingTheChildsObjectIn()
    {
        await using Isolate child = await Isolate.CreateAsync(Child("own-forged"));
        await using Isolate local = await Isolate.CreateAsync(new IsolateOptions { Name = "own-forged-owner" });
        IInventory inventory = await local.CreateObjectAsync<IInventory, Inventory>();
        await child.CallAsync(ChildProxyFunctions.Keep, inventory); // export 1, a target for the frame
        HostObjects objects = ObjectsOf(child);
        IInventory own = await Wait.Bounded(child.CallAsync(ChildOwnFunctions.CreateAndKeepAsync, "forged", 1));
        long ownId = ((IIsolateProxy)own).Reference.Id;
        Assert.That(ReceivedOf(objects, ownId), Is.EqualTo(1));
        System.Reflection.MethodInfo stub = typeof(IInventory).Assembly.GetTypes()
            .Single(t => t.Name.EndsWith("IInventory_IsolateDispatcher", StringComparison.Ordinal)).GetMethod(nameof(IInventory.ResetAsync))!;

        // The child's object, then an export the host does not know (a garbled pipe): the frame is refused and its
        // objects discarded (a drop each). Had the child's object been counted as received too, the reference's own drop
        // would later count that send a second time, and the child would release an object the host still holds.
        objects.OnCall(2_000_000, Forge(1, stub, [new SentObject(true, ownId, typeof(IInventory).FullName!), new SentObject(false, 424242, string.Empty)]));

        Assert.That(ReceivedOf(objects, ownId), Is.EqualTo(1), "a refused frame is discarded, not received");
        Assert.That(await Wait.Bounded(own.AddAsync("forged", 1)), Is.EqualTo(2));
        GC.KeepAlive(own);
    }

    private static long ReceivedOf(HostObjects objects, long childObject)
    {
        var imports = (System.Collections.IDictionary)typeof(HostObjects).GetField("_imports", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(objects)!;
        object entry = imports[childObject]!;
        return (long)entry.GetType().GetProperty("Received")!.GetValue(entry)!;
    }

    [Test]
    public async Task ChildsObject_SentManyTimesFromSeveralThreadsWhileTheHostDrops_KeptExactlyAsLongAsReferenced()
    {
        await using Isolate child = await Isolate.CreateAsync(Child("own-many"));
        HostObjects objects = ObjectsOf(child);
        await child.CallAsync(ChildAdversaryFunctions.StartCollecting);
        IInventory first = await Wait.Bounded(child.CallAsync(ChildOwnFunctions.CreateAndKeepAsync, "many", 0));
        _ = first;
        first = null!;

        for (int round = 0; round < 10; round++)
        {
            Assert.That(await Wait.Bounded(SendManyAndUseAsync(child, 100)), Is.EqualTo(100 * (round + 1)), "round " + round);
            Collect(); // the host drops this round's proxies while the next round's sends are made
        }

        // Now only the host's sends keep it: one proxy is held, the rest dropped.
        IInventory held = await child.CallAsync(ChildOwnFunctions.Kept);
        await child.CallAsync(ChildOwnFunctions.Forget);
        for (int i = 0; i < 5; i++)
        {
            Collect();
            await Task.Delay(50);
            Assert.That(await held.AddAsync("many", 1), Is.EqualTo(1001 + i), "the child must not release what the host holds");
        }

        Assert.That(await child.CallAsync(Inventory.Disposed), Is.Zero);
        held = null!;
        _ = held;
        await Tests.Diagnostics.Poll.Until(() =>
        {
            Collect();
            return objects.ImportCount == 0 && child.CallAsync(Inventory.Disposed).Result == 1;
        }, "the object to be released in the child once the host let go of it");
        await child.CallAsync(ChildAdversaryFunctions.StopCollecting);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<int> SendManyAndUseAsync(Isolate child, int count)
    {
        Task<IInventory>[] sends = [.. Enumerable.Range(0, count).Select(i => i % 2 == 0 ? child.CallAsync(ChildOwnFunctions.Kept) : child.CallAsync(ChildOwnFunctions.KeptFromThePoolAsync))];
        IInventory[] proxies = await Task.WhenAll(sends);
        Assert.That(proxies.Distinct().Count(), Is.LessThanOrEqualTo(2), "one reference per object while it lives (a second only after the first was collected)");
        int[] added = await Task.WhenAll(proxies.Select(p => p.AddAsync("many", 1)));
        return added.Max();
    }

    [Test]
    public async Task ChildsObject_ReleasedByTheHostTwiceDuringCalls_GoneEverywhereAndNothingLeaks()
    {
        await using Isolate child = await Isolate.CreateAsync(Child("own-release"));
        HostObjects objects = ObjectsOf(child);
        IInventory own = await Wait.Bounded(child.CallAsync(ChildOwnFunctions.CreateAndKeepAsync, "rel", 0));

        Task<int>[] before = [.. Enumerable.Range(0, 20).Select(_ => own.AddAsync("rel", 1))];
        Task<string> childUses = child.CallAsync(ChildOwnFunctions.UseKeptAsync);
        Task first = Isolate.ReleaseAsync(own);
        Task second = Isolate.ReleaseAsync(own);
        await Wait.Bounded(Task.WhenAll(first, second));

        Assert.That(second, Is.SameAs(first), "a second release waits for the first");
        Assert.That(await Wait.Bounded(Task.WhenAll(before)), Has.All.InRange(1, 21), "calls made before the release ran");
        // The child's own call of it was made after the host's release was sent: it ran, or it failed naming the release.
        Assert.That(await Wait.Bounded(childUses), Does.Match("^[0-9]+$").Or.Contains("released"));
        Assert.That(await child.CallAsync(Inventory.Disposed), Is.EqualTo(1), "released and disposed in the child");
        Assert.That(() => own.AddAsync("rel", 1), Throws.InstanceOf<IsolateClosedException>().With.Message.Contains("released"));
        Assert.That(await Wait.Bounded(child.CallAsync(ChildOwnFunctions.UseKeptAsync)), Does.StartWith(nameof(IsolateClosedException)).And.Contains("released"));

        // Sent again after the release: still released, here and there; and dropping it everywhere forgets it.
        IInventory again = await child.CallAsync(ChildOwnFunctions.Kept);
        Assert.That(() => again.AddAsync("rel", 1), Throws.InstanceOf<IsolateClosedException>().With.Message.Contains("released"));
        own = again = null!;
        _ = own;
        _ = again;
        await child.CallAsync(ChildOwnFunctions.Forget);
        await Tests.Diagnostics.Poll.Until(() =>
        {
            Collect();
            return objects.ImportCount == 0;
        }, "the host to drop the released object");
        Assert.That(await child.CallAsync(Inventory.Disposed), Is.EqualTo(1), "disposed once");
    }

    [Test]
    public async Task ChildsObject_PassedBackIntoItsChildAnotherChildAndAnInProcessIsolate_CallsReachTheObject()
    {
        await using Isolate child = await Isolate.CreateAsync(Child("own-back"));
        await using Isolate other = await Isolate.CreateAsync(Child("own-other"));
        await using Isolate local = await Isolate.CreateAsync(new IsolateOptions { Name = "own-local" });
        IInventory own = await Wait.Bounded(child.CallAsync(ChildProxyFunctions.CreateOwnAsync, "apple", 0));

        int intoSame = await Wait.Bounded(child.CallAsync(ChildOwnFunctions.AddThroughAsync, own, 1));
        int intoOther = await Wait.Bounded(other.CallAsync(ChildOwnFunctions.AddThroughAsync, own, 2));
        Passed intoLocal = await Wait.Bounded(local.CallAsync(ProxyFunctions.AddThroughAsync, own, 3));
        Task<int>[] concurrent = [.. Enumerable.Range(0, 20).Select(i => (i % 2 == 0 ? child : other).CallAsync(ChildOwnFunctions.AddThroughAsync, own, 1))];
        await Wait.Bounded(Task.WhenAll(concurrent));

        Assert.That(intoSame, Is.EqualTo(1), "back in its own child, the calls reach the object");
        Assert.That(intoOther, Is.EqualTo(3));
        Assert.That(intoLocal.Count, Is.EqualTo(6));
        Assert.That(await own.CountAsync("apple"), Is.EqualTo(26));

        own = null!;
        _ = own;
        await child.CallAsync(ChildProxyFunctions.ForgetKept);
        await other.CallAsync(ChildProxyFunctions.ForgetKept);
        await Tests.Diagnostics.Poll.Until(() =>
        {
            Collect();
            _ = child.CallAsync(ChildProxyFunctions.CollectThenDisposedAsync).Result;
            _ = other.CallAsync(ChildProxyFunctions.CollectThenDisposedAsync).Result;
            return ObjectsOf(child).ExportCount == 0 && ObjectsOf(other).ExportCount == 0 && ObjectsOf(child).ImportCount == 0
                && child.CallAsync(Inventory.Disposed).Result == 1;
        }, "everything passed around to be let go of, and the object released in its child");
    }

    [Test]
    public async Task ChildsObject_ChildKilledWhileTheHostHoldsIt_CallsFailNamingItAndNothingIsKept()
    {
        Isolate child = await Isolate.CreateAsync(Child("own-killed"));
        HostObjects objects = ObjectsOf(child);
        IInventory own = await Wait.Bounded(child.CallAsync(ChildOwnFunctions.CreateAndKeepAsync, "kill", 0));
        Task waiting = own.WaitForCancellationAsync(CancellationToken.None);
        await Tests.Diagnostics.Poll.Until(() => own.IsWaitingAsync().Result, "a call to wait in the child");

        await Wait.Bounded(child.KillAsync());

        Assert.That(async () => await Wait.Bounded(waiting), Throws.InstanceOf<IsolateClosedException>());
        Assert.That(async () => await Wait.Bounded(own.AddAsync("kill", 1)),
            Throws.InstanceOf<IsolateClosedException>().With.Message.Contains(((IIsolateProxy)own).Reference.Description));
        Assert.That(() => Isolate.ReleaseAsync(own), Throws.Nothing, "releasing after the end does nothing");
        Assert.That(objects.ImportCount, Is.Zero);
        own = null!;
        _ = own;
        Collect(); // the finalizer's drop meets a closed pipe quietly
        await child.DisposeAsync();
    }

    [Test]
    public async Task ObjectOfASecondIsolateInTheChild_ReturnedToTheHost_RefusedSayingWhy()
    {
        await using Isolate child = await Isolate.CreateAsync(Child("own-second"));

        Assert.That(async () => await Wait.Bounded(child.CallAsync(ChildOwnFunctions.CreateInSecondIsolateAsync)),
            Throws.InstanceOf<IsolateException>().With.Message.Contains("second-in-child").And.Message.Contains("cannot cross to the host"));
        Assert.That(ObjectsOf(child).ImportCount, Is.Zero);
        Assert.That(await Wait.Bounded(child.CallAsync(ChildProxyFunctions.CreateOwnAsync, "after", 1)), Is.Not.Null, "the child goes on");
    }

    [Test]
    public async Task SentObject_NamingAnIdNotInTheChildsTable_CallsFailNamingItAndTheChildGoesOn()
    {
        await using Isolate child = await Isolate.CreateAsync(Child("own-garbled"));
        HostObjects objects = ObjectsOf(child);
        object[] received = objects.Receive([new SentObject(true, 987_654, typeof(IInventory).FullName!)])!;
        var bogus = (IInventory)Isolates.Proxies.ProxyFactory.TryFor(typeof(IInventory), out _)!.Create((ObjectReference)received[0]);

        Assert.That(async () => await Wait.Bounded(bogus.AddAsync("x", 1)), Throws.InstanceOf<IsolateException>().With.Message.Contains("987654").And.Message.Contains("released"));
        bogus = null!;
        _ = bogus;
        received = null!;
        _ = received;
        await Tests.Diagnostics.Poll.Until(() =>
        {
            Collect();
            return objects.ImportCount == 0;
        }, "the bogus import to be dropped");
        IInventory own = await Wait.Bounded(child.CallAsync(ChildProxyFunctions.CreateOwnAsync, "fine", 1));
        Assert.That(await own.AddAsync("fine", 1), Is.EqualTo(2), "the child ignored the drop of an id it never sent");
    }

    private static byte[] Forge(long export, System.Reflection.MethodInfo stub, SentObject[] attachments)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        new ObjectCallHeader(export, stub.Module.Assembly.FullName!, stub.MetadataToken, ResultShape.Task, attachments).Write(ref writer);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }
}
