using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Isolates.Tests.Support;

namespace Isolates.Tests.Diagnostics;

[TestFixture]
[CancelAfter(60_000)]
public class TracingTests
{
    private ActivityListener? _listener;
    private ConcurrentQueue<Activity> _stopped = null!;

    [SetUp]
    public void Listen()
    {
        _stopped = new ConcurrentQueue<Activity>();
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == IsolateTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity => _stopped.Enqueue(activity),
        };
        ActivitySource.AddActivityListener(_listener);
    }

    [TearDown]
    public void StopListening() => _listener?.Dispose();

    [Test]
    public async Task CallAsync_CallerHasActivity_IsolateCodeSharesItsTrace()
    {
        await using Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Name = "traced" });
        using Activity host = new Activity("host-request").SetIdFormat(ActivityIdFormat.W3C).Start();

        string? inside = await iso.CallAsync(TelemetryWork.CurrentTraceId);
        string? afterAwait = await iso.CallAsync(TelemetryWork.CurrentTraceIdAfterAwaitAsync);

        Assert.Multiple(() =>
        {
            Assert.That(inside, Is.EqualTo(host.TraceId.ToHexString()));
            Assert.That(afterAwait, Is.EqualTo(host.TraceId.ToHexString()), "the activity flows across awaits inside the isolate");
        });
    }

    [Test]
    public async Task CallAsync_CallerHasActivity_RecordsChildCallActivityInTheIsolate()
    {
        await using Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Name = "traced-child" });
        using Activity host = new Activity("host-request").SetIdFormat(ActivityIdFormat.W3C).Start();

        await iso.CallAsync(Work.Identity, 7);

        Activity call = await SingleStoppedAsync(a => a.OperationName == "isolates.call" && a.TraceId == host.TraceId);
        Assert.Multiple(() =>
        {
            Assert.That(call.ParentSpanId, Is.EqualTo(host.SpanId));
            Assert.That(call.DisplayName, Does.EndWith("Work.Identity"));
            Assert.That(call.GetTagItem("isolate.name"), Is.EqualTo("traced-child"));
            Assert.That(call.Status, Is.EqualTo(ActivityStatusCode.Unset));
        });
    }

    [Test]
    public async Task CallAsync_FunctionThrows_CallActivityHasErrorStatus()
    {
        await using Isolate iso = await Isolate.CreateAsync();
        using Activity host = new Activity("host-request").SetIdFormat(ActivityIdFormat.W3C).Start();

        Assert.ThrowsAsync<IsolateExecutionException>(() => iso.CallAsync(Failing.Throw, "traced failure"));

        Activity call = await SingleStoppedAsync(a => a.OperationName == "isolates.call" && a.TraceId == host.TraceId);
        Assert.That(call.Status, Is.EqualTo(ActivityStatusCode.Error));
    }

    [Test]
    public async Task CallAsync_AfterATracedCall_IsolateThreadDoesNotKeepTheActivity()
    {
        await using Isolate iso = await Isolate.CreateAsync();
        string? first;
        using (Activity host = new Activity("host-request").SetIdFormat(ActivityIdFormat.W3C).Start())
        {
            first = await iso.CallAsync(TelemetryWork.CurrentTraceId);
        }

        Assert.That(Activity.Current, Is.Null);
        string? second = await iso.CallAsync(TelemetryWork.CurrentTraceId);

        Assert.Multiple(() =>
        {
            Assert.That(first, Is.Not.Null);
            Assert.That(second, Is.Null, "a call without a caller activity is not traced, and the thread kept nothing");
        });
    }

    [Test]
    public async Task MapAsync_CallerHasActivity_EveryItemSharesTheTraceUnderAChunkActivity()
    {
        await using IsolatePool pool = await IsolatePool.CreateAsync(size: 2);
        using Activity host = new Activity("host-map").SetIdFormat(ActivityIdFormat.W3C).Start();

        IReadOnlyList<string?> traceIds = await Wait.Bounded(pool.MapAsync(Enumerable.Range(0, 200), TelemetryWork.TraceIdOfItem));

        Assert.That(traceIds, Has.All.EqualTo(host.TraceId.ToHexString()));
        Activity chunk = (await AnyStoppedAsync(a => a.OperationName == "isolates.map.chunk" && a.TraceId == host.TraceId))[0];
        Assert.That(chunk.ParentSpanId, Is.EqualTo(host.SpanId));
    }

    [Test]
    public async Task ChannelWrite_WriterHasActivity_ReaderRecordsConsumerActivityParentedToIt()
    {
        await using Isolate reader = await Isolate.CreateAsync(new IsolateOptions { Name = "channel-reader" });
        Channel<Purchase> channel = IsolateChannel.CreateBounded<Purchase>(4);
        Task<int> read = reader.CallAsync(TelemetryWork.ReadOneAsync, channel.Reader);
        using Activity host = new Activity("host-producer").SetIdFormat(ActivityIdFormat.W3C).Start();

        await channel.Writer.WriteAsync(new Purchase(42, 1m));

        Assert.That(await Wait.Bounded(read), Is.EqualTo(42));
        Activity send = await SingleStoppedAsync(a => a.OperationName == "isolates.channel.send" && a.TraceId == host.TraceId);
        Activity receive = await SingleStoppedAsync(a => a.OperationName == "isolates.channel.receive" && a.TraceId == host.TraceId);
        Assert.Multiple(() =>
        {
            Assert.That(send.ParentSpanId, Is.EqualTo(host.SpanId));
            Assert.That(send.Kind, Is.EqualTo(ActivityKind.Producer));
            Assert.That(receive.Kind, Is.EqualTo(ActivityKind.Consumer));
            Assert.That(receive.ParentSpanId, Is.EqualTo(send.SpanId));
            Assert.That(receive.Links.Select(l => l.Context.SpanId), Does.Contain(send.SpanId));
            Assert.That(Activity.Current, Is.SameAs(host), "writing leaves the writer's own activity current");
        });
    }

    [Test]
    public async Task ChannelWrite_FrameworkElementTypeCreatedWhileListened_ReaderActivityParentedToWriter()
    {
        await using Isolate reader = await Isolate.CreateAsync();
        Channel<int> channel = IsolateChannel.CreateBounded<int>(4);
        Task<int> read = reader.CallAsync(TelemetryWork.ReadOneNumberAsync, channel.Reader);
        using Activity host = new Activity("host-producer").SetIdFormat(ActivityIdFormat.W3C).Start();

        Assert.That(channel.Writer.TryWrite(7));

        Assert.That(await Wait.Bounded(read), Is.EqualTo(7));
        Activity send = await SingleStoppedAsync(a => a.OperationName == "isolates.channel.send" && a.TraceId == host.TraceId);
        Activity receive = await SingleStoppedAsync(a => a.OperationName == "isolates.channel.receive" && a.TraceId == host.TraceId);
        Assert.That(receive.ParentSpanId, Is.EqualTo(send.SpanId));
    }

    [Test]
    public async Task TracedFrameworkChannel_FullWithDropOldest_DropsAreCountedAndReported()
    {
        var dropped = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        Channel<int> channel = IsolateChannel.CreateBounded<int>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest }, item => dropped.TrySetResult(item));
        Assert.That(((Isolates.Channels.IChannelEnd)channel).Core, Is.InstanceOf<Isolates.Channels.TracedDirectCore<int>>());

        Assert.That(channel.Writer.TryWrite(1) && channel.Writer.TryWrite(2));

        int droppedItem = await Wait.Bounded(dropped.Task);
        Assert.Multiple(() =>
        {
            Assert.That(droppedItem, Is.EqualTo(1));
            Assert.That(IsolateChannel.GetDroppedCount(channel), Is.EqualTo(1));
            Assert.That(channel.Reader.TryPeek(out int peeked) && peeked == 2);
            Assert.That(channel.Reader.TryRead(out int item) && item == 2);
        });
    }

    [Test]
    public async Task CloseAsync_AfterTracedCallsAndChannelItems_ContextIsStillCollected()
    {
        Isolate iso = await Isolate.CreateAsync();
        Channel<Purchase> channel = IsolateChannel.CreateUnbounded<Purchase>();
        using (new Activity("host-request").SetIdFormat(ActivityIdFormat.W3C).Start())
        {
            await iso.CallAsync(TelemetryWork.CurrentTraceIdAfterAwaitAsync);
            await channel.Writer.WriteAsync(new Purchase(1, 1m));
            Assert.That(await iso.CallAsync(TelemetryWork.ReadOneAsync, channel.Reader), Is.EqualTo(1));
        }

        await Wait.Bounded(iso.CloseAsync());

        Assert.That(iso.UnloadStatus, Is.EqualTo(UnloadStatus.Unloaded), iso.UnloadDiagnostic);
    }

    [Test]
    public async Task ChannelWrite_WriterHasNoActivity_NoChannelActivity()
    {
        Channel<Purchase> channel = IsolateChannel.CreateUnbounded<Purchase>();
        Assert.That(Activity.Current, Is.Null);

        await channel.Writer.WriteAsync(new Purchase(1, 1m));
        Assert.That(channel.Reader.TryRead(out Purchase? item), Is.True);

        Assert.Multiple(() =>
        {
            Assert.That(item!.Id, Is.EqualTo(1));
            Assert.That(_stopped.Where(a => a.OperationName.StartsWith("isolates.channel.", StringComparison.Ordinal)), Is.Empty);
        });
    }

    private async Task<IReadOnlyList<Activity>> AnyStoppedAsync(Func<Activity, bool> match)
    {
        await Poll.Until(() => _stopped.Any(match), "the activity");
        return [.. _stopped.Where(match)];
    }

    private async Task<Activity> SingleStoppedAsync(Func<Activity, bool> match)
    {
        // Activities end as the caller's task completes, possibly just after the await resumed.
        await Poll.Until(() => _stopped.Any(match), "the activity");
        return _stopped.Single(match);
    }
}

[TestFixture]
[CancelAfter(60_000)]
public class TracingWithoutListenerTests
{
    [Test]
    public async Task CallAsync_NobodyListens_NoActivityInsideTheIsolate()
    {
        await using Isolate iso = await Isolate.CreateAsync();
        using Activity host = new Activity("host-request").SetIdFormat(ActivityIdFormat.W3C).Start();

        string? inside = await iso.CallAsync(TelemetryWork.CurrentTraceId);

        Assert.That(inside, Is.Null, "without a listener on the Isolates source nothing is captured or started");
    }

    [Test]
    public void CreateBounded_NobodyListens_FrameworkElementTypeKeepsThePlainDirectBuffer()
    {
        Channel<int> channel = IsolateChannel.CreateBounded<int>(4);

        Assert.That(((Isolates.Channels.IChannelEnd)channel).Core, Is.InstanceOf<Isolates.Channels.ChannelCore.Direct<int>>());
    }
}
