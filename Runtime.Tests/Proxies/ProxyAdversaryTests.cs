using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Isolates.Tests.Diagnostics;
using Isolates.Tests.Support.Proxies;

namespace Isolates.Tests.Proxies;

/// <summary>Proxies under misuse and races: bad objects, double releases, releases from inside, closing owners.</summary>
[TestFixture]
[CancelAfter(60_000)]
public class ProxyAdversaryTests
{
    [Test]
    public async Task ReleaseAsync_CalledTwiceConcurrently_NeitherCompletesBeforeTheObjectIsGone()
    {
        await using Isolate iso = await Isolate.CreateAsync();
        IProbe probe = await iso.CreateObjectAsync<IProbe, AsyncDisposableProbe>();
        Task busy = iso.CallAsync(Support.Work.Sleep, 300); // the release is queued behind this

        Task first = Isolate.ReleaseAsync(probe);
        Task second = Isolate.ReleaseAsync(probe);

        Assert.That(second.IsCompleted, Is.False, "the second release reported the object gone while it was still there");
        await Wait.Bounded(Task.WhenAll(first, second, busy));
        Assert.That(iso.ObjectCount, Is.Zero);
        Assert.That(await iso.CallAsync(AsyncDisposableProbe.Disposed), Is.EqualTo(1), "disposed once");
    }

    [Test]
    public async Task ReleaseAsync_OfAnAsyncDisposableObject_AwaitsItsDisposeAsync()
    {
        await using Isolate iso = await Isolate.CreateAsync();
        IProbe probe = await iso.CreateObjectAsync<IProbe, AsyncDisposableProbe>();

        await Wait.Bounded(Isolate.ReleaseAsync(probe));

        Assert.That(await iso.CallAsync(AsyncDisposableProbe.Disposed), Is.EqualTo(1));
    }

    [Test]
    public async Task ProxyCall_FromTheObjectToItself_RunsAfterTheCurrentCallYields()
    {
        await using Isolate iso = await Isolate.CreateAsync();
        IProbe probe = await iso.CreateObjectAsync<IProbe, AsyncDisposableProbe>();

        Assert.That(await Wait.Bounded(probe.CallSelfAsync(probe)), Is.EqualTo(101));
    }

    [Test]
    public async Task ReleaseAsync_FromInsideTheObjectsOwnCall_ReleasesItWithoutDeadlock()
    {
        await using Isolate iso = await Isolate.CreateAsync();
        IProbe probe = await iso.CreateObjectAsync<IProbe, AsyncDisposableProbe>();

        Assert.That(await Wait.Bounded(probe.ReleaseSelfAsync(probe)), Is.EqualTo(1), "disposed before the release's task completed");
        Assert.That(iso.ObjectCount, Is.Zero);
        Assert.That(async () => await probe.PingAsync(), Throws.InstanceOf<IsolateClosedException>());
    }

    [Test]
    public async Task CreateObjectAsync_ConstructorThrows_FailsWithTheRemoteException_AndLeavesNothing()
    {
        await using Isolate iso = await Isolate.CreateAsync();

        IsolateExecutionException ex = Assert.ThrowsAsync<IsolateExecutionException>(() => Wait.Bounded(iso.CreateObjectAsync<IProbe, ThrowingProbe, string>("no stock")))!;

        Assert.That(ex.Message, Does.Contain("cannot build: no stock"));
        Assert.That(ex.RemoteType, Is.EqualTo(typeof(InvalidOperationException).FullName));
        Assert.That(iso.ObjectCount, Is.Zero);
    }

    [Test]
    public async Task CreateObjectAsync_ConstructorArgumentNotShareable_IsRefusedBeforeAnythingIsBuilt()
    {
        await using Isolate iso = await Isolate.CreateAsync();

        Assert.That(async () => await iso.CreateObjectAsync<IProbe, StreamProbe, Stream>(new MemoryStream()), Throws.InstanceOf<NotShareableException>());
        Assert.That(iso.ObjectCount, Is.Zero);
    }

    [Test]
    public async Task ReleaseAsync_DisposeThrows_FailsWithTheRemoteException_AndTheObjectIsGone()
    {
        await using Isolate iso = await Isolate.CreateAsync();
        IProbe probe = await iso.CreateObjectAsync<IProbe, BadDisposeProbe>();

        IsolateExecutionException ex = Assert.ThrowsAsync<IsolateExecutionException>(() => Wait.Bounded(Isolate.ReleaseAsync(probe)))!;

        Assert.That(ex.Message, Does.Contain("dispose failed"));
        Assert.That(iso.ObjectCount, Is.Zero);
        Assert.That(async () => await probe.PingAsync(), Throws.InstanceOf<IsolateClosedException>());
    }

    [Test]
    public async Task ReleaseAsync_RacingTheOwnersClose_CompletesQuietly()
    {
        Isolate iso = await Isolate.CreateAsync();
        IProbe probe = await iso.CreateObjectAsync<IProbe, AsyncDisposableProbe>();
        Task busy = iso.CallAsync(Support.Work.Sleep, 200);

        Task release = Isolate.ReleaseAsync(probe);
        Task closing = iso.CloseAsync();

        await Wait.Bounded(release);
        await Wait.Bounded(closing);
        await Wait.Bounded(busy.ContinueWith(_ => { }, TaskScheduler.Default));
    }

    [Test]
    public async Task ProxyCall_QueuedWhenTheOwnerCloses_FailsWithIsolateClosedException()
    {
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Name = "closing-with-queued-call" });
        IProbe probe = await iso.CreateObjectAsync<IProbe, AsyncDisposableProbe>();
        Task busy = iso.CallAsync(Support.Work.Sleep, 300);
        Task<int> queued = probe.PingAsync();

        await iso.CloseAsync();

        await Wait.Bounded(busy.ContinueWith(_ => { }, TaskScheduler.Default));
        await Wait.Bounded(queued.ContinueWith(_ => { }, TaskScheduler.Default));
        if (!queued.IsCompletedSuccessfully)
        {
            Assert.That(queued.Exception?.InnerException, Is.InstanceOf<IsolateClosedException>());
            // Like any call dropped from the queue, it names the isolate (not the object: see the proxies section of the design).
            Assert.That(queued.Exception!.InnerException!.Message, Does.Contain("closing-with-queued-call"));
        }
    }

    [Test]
    public async Task Proxy_InAShareableRecord_CrossesAndCallsTheObject()
    {
        await using Isolate owner = await Isolate.CreateAsync();
        await using Isolate other = await Isolate.CreateAsync();
        IProbe probe = await owner.CreateObjectAsync<IProbe, AsyncDisposableProbe>();

        Assert.That(await Wait.Bounded(other.CallAsync(ProbeFunctions.PingHeldAsync, new ProbeHolder("p", probe))), Is.EqualTo(1));
        Assert.That(await probe.PingAsync(), Is.EqualTo(2));
    }

    [Test]
    public async Task Proxy_OnlyReferencedByAChannelItem_IsNotReleasedWhileTheItemWaits()
    {
        await using Isolate owner = await Isolate.CreateAsync();
        await using Isolate reader = await Isolate.CreateAsync();
        Channel<IProbe> channel = IsolateChannel.CreateUnbounded<IProbe>();
        await WriteAndDropAsync(owner, channel.Writer);

        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        await Wait.Bounded(owner.CallAsync(Support.Work.Sleep, 1)); // a release the finalizer queued would have run by now
        Assert.That(owner.ObjectCount, Is.EqualTo(1), "the object is still referenced by the item in the channel");
        Assert.That(await Wait.Bounded(reader.CallAsync(ProbeFunctions.PingFromChannelAsync, channel.Reader)), Is.EqualTo(1));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task WriteAndDropAsync(Isolate owner, ChannelWriter<IProbe> writer)
    {
        IProbe probe = await owner.CreateObjectAsync<IProbe, AsyncDisposableProbe>();
        await writer.WriteAsync(probe);
    }

    [Test]
    public async Task HostService_ReturningValueTasks_WorksFromIsolateCode()
    {
        var counter = new CounterService();
        await using Isolate iso = await Isolate.CreateAsync(new IsolateOptions { HostServices = new IsolateHostServices().Add<ICounterService>(counter) });

        Assert.That(await Wait.Bounded(iso.CallAsync(ProbeFunctions.UseCounterAsync)), Is.EqualTo(11));
        Assert.That(await counter.PeekAsync(), Is.EqualTo(11));
    }

    [Test]
    public async Task ProxyCall_WhoseProxyIsCollectedWhileTheCallWaits_StillRuns_ThenTheObjectIsReleased()
    {
        await using Isolate iso = await Isolate.CreateAsync(new IsolateOptions { MaxQueuedCalls = 1 });
        IProbe kept = await iso.CreateObjectAsync<IProbe, AsyncDisposableProbe>();
        Task busy = iso.CallAsync(Support.Work.Sleep, 300);
        Task filler = iso.CallAsync(Support.Work.Sleep, 1); // takes the one place: the proxy call waits in line
        Task<int> call = CallAndDropAsync(iso);

        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        Assert.That(await Wait.Bounded(call), Is.EqualTo(1), "a call made before its proxy was collected runs before the release the finalizer queued");
        await Wait.Bounded(Task.WhenAll(busy, filler));
        await Poll.Until(() => iso.ObjectCount == 1, "the collected proxy's object to be released (the kept one stays)");
        Assert.That(await kept.PingAsync(), Is.EqualTo(1));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Task<int> CallAndDropAsync(Isolate iso)
    {
        IProbe probe = iso.CreateObjectAsync<IProbe, AsyncDisposableProbe>().GetAwaiter().GetResult();
        return probe.PingAsync();
    }

    [Test]
    public async Task ReleaseAsync_WhileAnEarlierCallWaitsForRoom_RunsAfterIt()
    {
        await using Isolate iso = await Isolate.CreateAsync(new IsolateOptions { MaxQueuedCalls = 1 });
        IProbe probe = await iso.CreateObjectAsync<IProbe, AsyncDisposableProbe>();
        Task busy = iso.CallAsync(Support.Work.Sleep, 300);
        Task filler = iso.CallAsync(Support.Work.Sleep, 1);

        Task<int> call = probe.PingAsync(); // waits for room
        Task release = Isolate.ReleaseAsync(probe);

        Assert.That(await Wait.Bounded(call), Is.EqualTo(1));
        await Wait.Bounded(Task.WhenAll(release, busy, filler));
        Assert.That(iso.ObjectCount, Is.Zero);
    }

    [Test]
    public async Task Proxy_PassedToAPool_CallsTheObject()
    {
        await using Isolate owner = await Isolate.CreateAsync();
        await using var pool = await IsolatePool.CreateAsync(new IsolatePoolOptions { Size = 2 });
        IProbe probe = await owner.CreateObjectAsync<IProbe, AsyncDisposableProbe>();

        int[] pings = await Wait.Bounded(Task.WhenAll(Enumerable.Range(0, 10).Select(_ => pool.SubmitAsync(ProbeFunctions.PingHeldAsync, new ProbeHolder("p", probe)))));

        Assert.That(pings.Order(), Is.EqualTo(Enumerable.Range(1, 10)));
    }

    [Test]
    public async Task HostServiceCall_StillRunningWhenTheCallingIsolateCloses_DoesNotPinItsContext()
    {
        var service = new HangService();
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions
        {
            HostServices = new IsolateHostServices().Add<IHangService>(service),
            UnloadTimeout = TimeSpan.FromSeconds(5),
        });
        Task waiting = iso.CallAsync(HangFunctions.AwaitHangAsync);
        await Poll.Until(() => service.Calls == 1, "the host service to be called");

        await iso.CloseAsync();
        try
        {
            Assert.That(await Wait.Bounded(iso.Unloaded), Is.EqualTo(UnloadStatus.Unloaded), iso.UnloadDiagnostic);
            Assert.That(async () => await Wait.Bounded(waiting), Throws.InstanceOf<IsolateClosedException>());
        }
        finally
        {
            service.Go();
        }
    }

    /// <remarks>
    /// The call item in the owner's in-flight set kept the caller's plan, whose method is the caller's copy of the
    /// generated stub, until the object's call ended. Not proxy-specific: the call path (Calls/CallerCloseTests) now lets
    /// go of a caller whose task is done, and fails a call when its calling isolate closes.
    /// </remarks>
    [Test]
    public async Task ProxyCall_StillRunningWhenTheCallingIsolateCloses_DoesNotPinItsContext()
    {
        await using Isolate owner = await Isolate.CreateAsync();
        IInventory inventory = await owner.CreateObjectAsync<IInventory, Inventory>();
        Isolate caller = await Isolate.CreateAsync(new IsolateOptions { UnloadTimeout = TimeSpan.FromSeconds(5) });
        Task waiting = caller.CallAsync(WaitingFunctions.AwaitObjectAsync, inventory);
        await Poll.Until(() => inventory.IsWaitingAsync().Result, "the object to be waiting");

        await caller.CloseAsync();

        Assert.That(await Wait.Bounded(caller.Unloaded), Is.EqualTo(UnloadStatus.Unloaded), caller.UnloadDiagnostic);
        Assert.That(async () => await Wait.Bounded(waiting), Throws.InstanceOf<IsolateClosedException>());
    }

    [Test]
    public async Task CreateObjectAsync_OnAClosedIsolate_FailsWithIsolateClosedException_AndReleaseOfNullIsRefused()
    {
        Isolate iso = await Isolate.CreateAsync();
        await iso.CloseAsync();

        Assert.That(async () => await Wait.Bounded(iso.CreateObjectAsync<IProbe, AsyncDisposableProbe>()), Throws.InstanceOf<IsolateClosedException>());
        Assert.That(() => Isolate.ReleaseAsync(null!), Throws.ArgumentNullException);
    }
}
