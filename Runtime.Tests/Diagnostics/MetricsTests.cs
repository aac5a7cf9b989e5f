using System.Threading.Channels;
using Isolates.Channels;
using Isolates.Tests.Support;

namespace Isolates.Tests.Diagnostics;

[TestFixture]
[CancelAfter(60_000)]
public class MetricsTests
{
    private static string UniqueName() => "metrics-" + Guid.NewGuid().ToString("N")[..8];

    [Test]
    public async Task CreateAsync_WithListener_CountsSpawnTaggedWithName()
    {
        using var metrics = new RecordedMeasurements();
        string name = UniqueName();

        await using Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Name = name });

        IReadOnlyList<RecordedMeasurements.Recorded> spawns = metrics.Of("isolates.isolate.spawns", "isolate.name", name);
        Assert.That(spawns.Sum(s => s.Value), Is.EqualTo(1));
    }

    [Test]
    public async Task CallAsync_WithListener_CountsCallAndRecordsPositiveDuration()
    {
        using var metrics = new RecordedMeasurements();
        string name = UniqueName();
        await using Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Name = name });

        await iso.CallAsync(Work.Identity, 1);
        await iso.CallAsync(Geometry.Scale, new Point(1, 2), 3);

        // The duration is recorded as the caller's task completes, which may be just after the await resumes.
        await Poll.Until(() => metrics.Of("isolates.call.duration", "isolate.name", name).Count == 2);
        Assert.Multiple(() =>
        {
            Assert.That(metrics.Of("isolates.calls", "isolate.name", name).Sum(s => s.Value), Is.EqualTo(2));
            Assert.That(metrics.Of("isolates.call.duration", "isolate.name", name).Select(d => d.Value), Has.All.GreaterThan(0));
            Assert.That(metrics.Of("isolates.call.duration", "isolate.name", name).Select(d => d.Tag("error.type")), Has.All.Null);
        });
    }

    [Test]
    public async Task CallAsync_FunctionThrows_DurationTaggedWithErrorType()
    {
        using var metrics = new RecordedMeasurements();
        string name = UniqueName();
        await using Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Name = name });

        Assert.ThrowsAsync<IsolateExecutionException>(() => iso.CallAsync(Failing.Throw, "boom"));

        await Poll.Until(() => metrics.Of("isolates.call.duration", "isolate.name", name).Count == 1);
        Assert.That(metrics.Of("isolates.call.duration", "isolate.name", name)[0].Tag("error.type"), Is.EqualTo(nameof(IsolateExecutionException)));
    }

    [Test]
    public async Task IsolateCount_CreateAndClose_GoesUpThenDown()
    {
        using var metrics = new RecordedMeasurements();
        double before = metrics.Observe("isolates.isolate.count").Single().Value;

        Isolate[] isolates = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Isolate.CreateAsync()));
        double during = metrics.Observe("isolates.isolate.count").Single().Value;
        await Wait.Bounded(Task.WhenAll(isolates.Select(i => i.CloseAsync())));
        double after = metrics.Observe("isolates.isolate.count").Single().Value;

        Assert.Multiple(() =>
        {
            Assert.That(during - before, Is.EqualTo(3));
            Assert.That(during - after, Is.EqualTo(3));
        });
    }

    [Test]
    public async Task AllocatedBytes_IsolateCodeAllocates_IncreasesAndIsReported()
    {
        using var metrics = new RecordedMeasurements();
        string name = UniqueName();
        await using Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Name = name });
        await iso.CallAsync(Work.Identity, 0);
        await Poll.Until(() => iso.AllocatedBytes > 0); // sampled when the isolate runs out of work
        long before = iso.AllocatedBytes;

        await iso.CallAsync(TelemetryWork.Allocate, 8);

        await Poll.Until(() => iso.AllocatedBytes - before >= 8L * 1024 * 1024);
        double reported = metrics.Observe("isolates.isolate.memory.allocated", "isolate.name", name).Single().Value;
        Assert.That(reported, Is.GreaterThanOrEqualTo(before + (8.0 * 1024 * 1024)));
    }

    [Test]
    public async Task CpuTime_IsolateCodeSpins_IncreasesAndIsReported()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsWindows() && !OperatingSystem.IsMacOS())
        {
            Assert.Ignore("per-thread CPU time is read on Linux, macOS and Windows only");
        }

        using var metrics = new RecordedMeasurements();
        string name = UniqueName();
        await using Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Name = name });
        await iso.CallAsync(Work.Identity, 0);
        await Poll.Until(() => iso.CpuTime > TimeSpan.Zero);
        TimeSpan before = iso.CpuTime;

        await iso.CallAsync(TelemetryWork.Spin, 100_000_000L); // ~100 ms of CPU, fewer on a fast machine

        await Poll.Until(() => iso.CpuTime - before >= TimeSpan.FromMilliseconds(20));
        double reported = metrics.Observe("isolates.isolate.cpu.time", "isolate.name", name).Single().Value;
        Assert.That(reported, Is.GreaterThanOrEqualTo((before + TimeSpan.FromMilliseconds(20)).TotalSeconds));
    }

    [Test]
    public async Task QueueLength_IsolateBusy_ReportsWaitingCalls()
    {
        using var metrics = new RecordedMeasurements();
        string name = UniqueName();
        await using Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Name = name });
        Channel<int> signal = IsolateChannel.CreateUnbounded<int>();
        Task busy = iso.CallAsync(TelemetryWork.BlockUntilSignalled, signal.Reader);
        await Poll.Until(() => iso.QueueLength == 0); // the blocking call has started
        Task[] waiting = [.. Enumerable.Range(0, 3).Select(i => iso.CallAsync(Work.Identity, i))];

        double reported = metrics.Observe("isolates.isolate.queue.length", "isolate.name", name).Single().Value;
        signal.Writer.TryWrite(1);

        Assert.That(reported, Is.EqualTo(3));
        await Wait.Bounded(Task.WhenAll([busy, .. waiting]));
    }

    [Test]
    public async Task ChannelMessages_DirectAndEncodedChannels_CountedPerChannel()
    {
        using var metrics = new RecordedMeasurements();
        await using Isolate iso = await Isolate.CreateAsync();
        Channel<int> numbers = IsolateChannel.CreateUnbounded<int>();
        Channel<Purchase> purchases = IsolateChannel.CreateBounded<Purchase>(16);
        string numbersName = "channel-" + ((IChannelEnd)numbers).Core.Id;
        string purchasesName = "channel-" + ((IChannelEnd)purchases).Core.Id;

        for (int i = 0; i < 5; i++)
        {
            Assert.That(numbers.Writer.TryWrite(i));
        }

        await purchases.Writer.WriteAsync(new Purchase(1, 2m));
        await purchases.Writer.WriteAsync(new Purchase(2, 3m));
        purchases.Writer.Complete();
        int counted = await iso.CallAsync(ChannelWork.CountItems, numbers.Reader);
        decimal total = await iso.CallAsync(ChannelWork.SumPurchasesAsync, purchases.Reader);

        Assert.Multiple(() =>
        {
            Assert.That((counted, total), Is.EqualTo((5, 5m)));
            Assert.That(metrics.Of("isolates.channel.messages.sent", "messaging.destination.name", numbersName).Sum(m => m.Value), Is.EqualTo(5));
            Assert.That(metrics.Of("isolates.channel.messages.received", "messaging.destination.name", numbersName).Sum(m => m.Value), Is.EqualTo(5));
            Assert.That(metrics.Of("isolates.channel.messages.sent", "messaging.destination.name", purchasesName).Sum(m => m.Value), Is.EqualTo(2));
            Assert.That(metrics.Of("isolates.channel.messages.received", "messaging.destination.name", purchasesName).Sum(m => m.Value), Is.EqualTo(2));
        });
    }

    [Test]
    public async Task Lifecycle_ListenerThrows_IsolateStillStartsCallsAndCloses()
    {
        using var listener = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == IsolateTelemetry.MeterName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, _, _, _) =>
        {
            if (instrument.Name is "isolates.isolate.spawns" or "isolates.isolate.exits")
            {
                throw new InvalidOperationException("a broken listener");
            }
        });
        listener.SetMeasurementEventCallback<double>((_, _, _, _) => throw new InvalidOperationException("a broken listener"));
        listener.Start();

        Isolate iso = await Isolate.CreateAsync();
        int result = await iso.CallAsync(Work.Identity, 5);
        await Wait.Bounded(iso.CloseAsync());
        IsolateExit exit = await Wait.Bounded(iso.Exited);

        Assert.Multiple(() =>
        {
            Assert.That(result, Is.EqualTo(5));
            Assert.That(exit.Reason, Is.EqualTo(IsolateExitReason.Closed));
            Assert.That(iso.UnloadStatus, Is.EqualTo(UnloadStatus.Unloaded));
        });
    }

    [Test]
    public async Task ChannelQueueLength_ItemsWaiting_ReportedPerChannel()
    {
        using var metrics = new RecordedMeasurements();
        Channel<Purchase> purchases = IsolateChannel.CreateBounded<Purchase>(16);
        string channelName = "channel-" + ((IChannelEnd)purchases).Core.Id;
        await purchases.Writer.WriteAsync(new Purchase(1, 1m));
        await purchases.Writer.WriteAsync(new Purchase(2, 1m));

        double waiting = metrics.Observe("isolates.channel.queue.length", "messaging.destination.name", channelName).Single().Value;
        Assert.That(purchases.Reader.TryRead(out _));
        double afterRead = metrics.Observe("isolates.channel.queue.length", "messaging.destination.name", channelName).Single().Value;

        Assert.That((waiting, afterRead), Is.EqualTo((2.0, 1.0)));
    }

    [Test]
    public async Task ChannelMetrics_ChannelNamedByItsOwner_TaggedWithThatName()
    {
        // Host channels (Isolates.Hosting) pass their configured name; other channels are channel-{id}.
        using var metrics = new RecordedMeasurements();
        string name = UniqueName();
        Channel<int> named = IsolateChannel.CreateBounded<int>(new BoundedChannelOptions(4), itemDropped: null, survivesWriterFaults: false, name: name);
        await named.Writer.WriteAsync(7);

        Assert.That(metrics.Observe("isolates.channel.queue.length", "messaging.destination.name", name).Single().Value, Is.EqualTo(1.0));
        Assert.That(named.Reader.TryRead(out _));
        Assert.That(metrics.Of("isolates.channel.messages.sent", "messaging.destination.name", name).Sum(m => m.Value), Is.EqualTo(1));
        Assert.That(metrics.Of("isolates.channel.messages.received", "messaging.destination.name", name).Sum(m => m.Value), Is.EqualTo(1));
    }

    [Test]
    public async Task UnloadFailuresAndExits_IsolateLeaks_CountedWithReason()
    {
        using var metrics = new RecordedMeasurements();
        string name = UniqueName();
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Name = name, UnloadTimeout = TimeSpan.FromMilliseconds(300) });
        await iso.CallAsync(Failing.LeakIntoSharedEvent);

        await Wait.Bounded(iso.CloseAsync());
        await Wait.Bounded(iso.Exited);

        Assert.Multiple(() =>
        {
            Assert.That(metrics.Of("isolates.isolate.unload_failures", "isolate.name", name).Sum(m => m.Value), Is.EqualTo(1));
            Assert.That(metrics.Of("isolates.isolate.exits", "isolate.name", name).Select(m => m.Tag("isolates.exit.reason")), Is.EqualTo(new[] { "unload_failed" }));
        });
    }
}
