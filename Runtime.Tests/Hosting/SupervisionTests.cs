using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Isolates.Hosting;
using Isolates.Tests.Support;
using Isolates.Tests.Support.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace Isolates.Tests.Hosting;

[CancelAfter(60_000)]
public sealed class SupervisionTests
{
    [Test]
    public async Task StartAsync_PoolAndWorker_RunUntilStopThenEverythingUnloads()
    {
        var logs = new ListLoggerProvider();
        (IHost started, IIsolateHost isolates) = await TestHost.StartAsync(logs, o =>
        {
            o.AddPool("scoring", size: 2);
            o.AddIsolate<IdleWorker>("idle", TestHost.Fast());
        });
        using IHost host = started;

        IsolatePool scoring = isolates.GetPool("scoring");
        Assert.That(await Wait.Bounded(scoring.SubmitAsync(PoolWork.Square, 7)), Is.EqualTo(49));
        IsolateStatus running = isolates.GetStatus("idle");
        Assert.That(running.State, Is.EqualTo(SupervisedIsolateState.Running));
        Isolate worker = running.Isolate!;
        Isolate[] owned = [worker, .. scoring.Isolates];

        await Wait.Bounded(host.StopAsync());

        Assert.Multiple(() =>
        {
            Assert.That(isolates.GetStatus("idle").State, Is.EqualTo(SupervisedIsolateState.Stopped));
            Assert.That(isolates.GetStatus("idle").LastFault, Is.Null, "a worker that honours cancellation is not a fault");
            Assert.That(Isolate.All.Select(i => i.Id), Has.None.AnyOf(owned.Select(i => i.Id).ToArray()));
            Assert.That(owned.Select(i => i.UnloadStatus), Has.All.EqualTo(UnloadStatus.Unloaded));
            Assert.That(logs.EventIds, Does.Contain(30).And.Contain(31).And.Contain(39).And.Contain(41));
            Assert.That(logs.EventIds, Does.Not.Contain(32));
        });
        Assert.Throws<ObjectDisposedException>(() => isolates.GetPool("scoring"));
    }

    [Test]
    public async Task Fault_OneForOne_RestartsInFreshIsolateAndCountsIt()
    {
        var logs = new ListLoggerProvider();
        long restartsMeasured = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Isolates" && instrument.Name == "isolates.isolate.restarts")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag is { Key: "isolate.name", Value: "scripted" })
                {
                    Interlocked.Add(ref restartsMeasured, value);
                }
            }
        });
        listener.Start();
        (IHost started, IIsolateHost isolates) = await TestHost.StartAsync(logs, ScriptedOnly);
        using IHost host = started;
        long firstId = isolates.GetStatus("scripted").Isolate!.Id;

        await isolates.GetChannel<int>("commands").Writer.WriteAsync(WorkerCommand.Throw);
        await TestHost.WaitUntilAsync(() => isolates.GetStatus("scripted") is { Restarts: 1, State: SupervisedIsolateState.Running }, "the worker restarted");

        IsolateStatus status = isolates.GetStatus("scripted");
        Assert.Multiple(() =>
        {
            Assert.That(status.Isolate!.Id, Is.Not.EqualTo(firstId), "a restart gets a fresh isolate");
            Assert.That(status.LastFault, Is.TypeOf<IsolateExecutionException>().And.Message.EqualTo("scripted failure"));
            Assert.That(status.LastFaultTime, Is.Not.Null);
            Assert.That(Interlocked.Read(ref restartsMeasured), Is.EqualTo(1));
            Assert.That(logs.EventIds, Does.Contain(32).And.Contain(33));
        });
        int startsInFreshIsolate = await Wait.Bounded(status.Isolate!.CallAsync(ScriptedWorker.StartsInThisIsolate));
        Assert.That(startsInFreshIsolate, Is.EqualTo(1), "statics are per isolate: the new copy started once");

        await Wait.Bounded(host.StopAsync());
    }

    [Test]
    public async Task FaultOutsideCall_OneForOne_IsRestartedWithTheIsolatesFault()
    {
        var logs = new ListLoggerProvider();
        (IHost started, IIsolateHost isolates) = await TestHost.StartAsync(logs, ScriptedOnly);
        using IHost host = started;

        await isolates.GetChannel<int>("commands").Writer.WriteAsync(WorkerCommand.FaultOutsideCall);
        await TestHost.WaitUntilAsync(() => isolates.GetStatus("scripted") is { Restarts: 1, State: SupervisedIsolateState.Running }, "the worker restarted");

        Assert.That(isolates.GetStatus("scripted").LastFault, Is.TypeOf<IsolateExecutionException>().And.Message.EqualTo("scripted fault outside any call"));
        await Wait.Bounded(host.StopAsync());
    }

    [Test]
    public async Task Deadlock_OneForOne_IsDetectedAndRestarted()
    {
        // Issue 13: a worker blocking on its own continuation used to hang until shutdown; the detector (default
        // BlockedThreadTimeout, 5 s) faults the isolate, and supervision restarts it like any fault.
        var logs = new ListLoggerProvider();
        (IHost started, IIsolateHost isolates) = await TestHost.StartAsync(logs, ScriptedOnly);
        using IHost host = started;

        await isolates.GetChannel<int>("commands").Writer.WriteAsync(WorkerCommand.Deadlock);
        await TestHost.WaitUntilAsync(() => isolates.GetStatus("scripted") is { Restarts: 1, State: SupervisedIsolateState.Running }, "the worker restarted");

        Assert.That(isolates.GetStatus("scripted").LastFault?.Message, Does.Contain("is deadlocked").And.Contain("the continuation of ScriptedWorker.YieldOnceAsync"));

        // The watchdog logs last (the logger is user code; see DeclareDeadlock), so the restart can be seen first.
        await TestHost.WaitUntilAsync(() => logs.EventIds.Contains(10), "the deadlock was logged (event 10)");
        await Wait.Bounded(host.StopAsync());
    }

    [Test]
    public async Task FaultOutsideCall_WorkerHoldsHostChannelWriter_ChannelStaysOpenForTheRestartedWorker()
    {
        var logs = new ListLoggerProvider();
        (IHost started, IIsolateHost isolates) = await TestHost.StartAsync(logs, o => o
            .AddChannel<int>("out", capacity: 8)
            .AddIsolate<WriteThenFaultWorker, ChannelWriter<int>>(
                "writer", sp => sp.GetRequiredService<IIsolateHost>().GetChannel<int>("out").Writer,
                RestartPolicy.OneForOne(maxRestarts: 100, within: TimeSpan.FromMinutes(1)).WithBackoff(TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(10))));
        using IHost host = started;
        ChannelReader<int> output = isolates.GetChannel<int>("out").Reader;

        // One item per start: the second can only come from a worker restarted after its predecessor's fault, through
        // a channel that fault did not fail.
        Assert.That(await output.ReadAsync().AsTask().WaitAsync(Wait.Timeout), Is.EqualTo(1));
        Assert.That(await output.ReadAsync().AsTask().WaitAsync(Wait.Timeout), Is.EqualTo(1));
        Assert.That(isolates.GetStatus("writer").Restarts, Is.GreaterThanOrEqualTo(1));
        Assert.That(output.Completion.IsCompleted, Is.False);
        await Wait.Bounded(host.StopAsync());
    }

    [Test]
    public async Task RunAsyncReturns_IsCompletedAndNotRestarted()
    {
        var logs = new ListLoggerProvider();
        (IHost started, IIsolateHost isolates) = await TestHost.StartAsync(logs, o => o.AddIsolate<FinishingWorker>("finishing", TestHost.Fast()));
        using IHost host = started;

        await TestHost.WaitUntilAsync(() => isolates.GetStatus("finishing").State == SupervisedIsolateState.Completed, "the worker completed");
        await Task.Delay(50);

        Assert.That(isolates.GetStatus("finishing"), Has.Property(nameof(IsolateStatus.Restarts)).EqualTo(0).And.Property(nameof(IsolateStatus.LastFault)).Null);
        await Wait.Bounded(host.StopAsync());
        Assert.That(isolates.GetStatus("finishing").State, Is.EqualTo(SupervisedIsolateState.Completed));
    }

    [Test]
    public async Task RestartIntensityExceeded_StopsHostWithNonZeroExitCode()
    {
        int exitCodeBefore = Environment.ExitCode;
        try
        {
            var logs = new ListLoggerProvider();
            (IHost started, IIsolateHost isolates) = await TestHost.StartAsync(logs, o =>
            {
                o.FailureExitCode = 3;
                o.AddIsolate<CrashingWorker>("crashing", TestHost.Fast(maxRestarts: 2));
            });
            using IHost host = started;

            await Wait.Bounded(host.WaitForShutdownAsync());

            IsolateStatus status = isolates.GetStatus("crashing");
            Assert.Multiple(() =>
            {
                Assert.That(status.State, Is.EqualTo(SupervisedIsolateState.Exhausted));
                Assert.That(status.Restarts, Is.EqualTo(2));
                Assert.That(status.LastFault?.Message, Is.EqualTo("crashing worker"));
                Assert.That(Environment.ExitCode, Is.EqualTo(3));
                Assert.That(logs.EventIds, Does.Contain(34));
            });
        }
        finally
        {
            Environment.ExitCode = exitCodeBefore;
        }
    }

    [Test]
    public async Task Backoff_FakeClock_DoublesBetweenRestarts()
    {
        var logs = new ListLoggerProvider();
        var clock = new FakeTimeProvider();
        RestartPolicy policy = RestartPolicy.OneForOne(5, TimeSpan.FromMinutes(10)).WithBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(4));
        (IHost started, IIsolateHost isolates) = await TestHost.StartAsync(logs, o => o.AddIsolate<CrashingWorker>("crashing", policy), time: clock);
        using IHost host = started;

        // Event 33 (restarting) is logged once the backoff timer exists, so advancing the clock after it is safe.
        await TestHost.WaitUntilAsync(() => logs.EventIds.Count(id => id == 33) == 1, "the first backoff");
        Assert.That(isolates.GetStatus("crashing"), Has.Property(nameof(IsolateStatus.State)).EqualTo(SupervisedIsolateState.Restarting).And.Property(nameof(IsolateStatus.Restarts)).EqualTo(0));
        clock.Advance(TimeSpan.FromSeconds(1));
        await TestHost.WaitUntilAsync(() => logs.EventIds.Count(id => id == 33) == 2, "the second backoff");
        Assert.That(isolates.GetStatus("crashing").Restarts, Is.EqualTo(1));

        clock.Advance(TimeSpan.FromSeconds(1));
        await Task.Delay(100);
        Assert.That(isolates.GetStatus("crashing").Restarts, Is.EqualTo(1), "the second backoff is 2 s, not 1 s");

        clock.Advance(TimeSpan.FromSeconds(1));
        await TestHost.WaitUntilAsync(() => isolates.GetStatus("crashing").Restarts == 2, "the second restart");
        await Wait.Bounded(host.StopAsync());
    }

    [Test]
    public async Task StopAsync_DuringBackoff_EndsAtOnceWithoutRestarting()
    {
        var logs = new ListLoggerProvider();
        var clock = new FakeTimeProvider();
        RestartPolicy policy = RestartPolicy.OneForOne(5, TimeSpan.FromMinutes(10)).WithBackoff(TimeSpan.FromHours(1), TimeSpan.FromHours(1));
        (IHost started, IIsolateHost isolates) = await TestHost.StartAsync(logs, o => o.AddIsolate<CrashingWorker>("crashing", policy), time: clock);
        using IHost host = started;
        await TestHost.WaitUntilAsync(() => isolates.GetStatus("crashing").State == SupervisedIsolateState.Restarting, "the backoff");

        await Wait.Bounded(host.StopAsync());

        Assert.That(isolates.GetStatus("crashing"), Has.Property(nameof(IsolateStatus.State)).EqualTo(SupervisedIsolateState.Stopped).And.Property(nameof(IsolateStatus.Restarts)).EqualTo(0));
        Assert.That(Isolate.All.Where(i => i.Name == "crashing"), Is.Empty);
    }

    [Test]
    public async Task StopAsync_TokenAlreadyCancelled_StillStopsAndClosesEveryIsolate()
    {
        var logs = new ListLoggerProvider();
        (IHost started, IIsolateHost isolates) = await TestHost.StartAsync(logs, o => o.AddPool("cancelled-stop-pool", size: 1).AddIsolate<IdleWorker>("cancelled-stop", TestHost.Fast()));
        using IHost host = started;
        Isolate worker = isolates.GetStatus("cancelled-stop").Isolate!;

        // The isolate host's own stop, as the generic host calls it when its shutdown budget is already spent.
        await Wait.Bounded(((IHostedService)isolates).StopAsync(new CancellationToken(canceled: true)));

        Assert.Multiple(() =>
        {
            Assert.That(isolates.GetStatus("cancelled-stop").State, Is.EqualTo(SupervisedIsolateState.Stopped));
            Assert.That(worker.State, Is.EqualTo(IsolateState.Closed));
            Assert.That(Isolate.All, Has.No.Member(worker));
        });
    }

    [Test]
    public async Task AllForOne_MemberFaults_WholeGroupRestarts()
    {
        var logs = new ListLoggerProvider();
        RestartPolicy group = RestartPolicy.AllForOne("pipeline", 3, TimeSpan.FromSeconds(30)).WithBackoff(TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(10));
        (IHost started, IIsolateHost isolates) = await TestHost.StartAsync(logs, o =>
        {
            o.AddChannel<int>("commands", capacity: 8);
            o.AddIsolate<ScriptedWorker, ChannelReader<int>>("a", TestHost.Commands, group);
            o.AddIsolate<IdleWorker>("b", group);
            o.AddIsolate<IdleWorker>("outsider", TestHost.Fast());
        });
        using IHost host = started;
        long bBefore = isolates.GetStatus("b").Isolate!.Id;
        long outsiderBefore = isolates.GetStatus("outsider").Isolate!.Id;

        await isolates.GetChannel<int>("commands").Writer.WriteAsync(WorkerCommand.Throw);
        await TestHost.WaitUntilAsync(
            () => isolates.GetStatus("a") is { Restarts: 1, State: SupervisedIsolateState.Running } && isolates.GetStatus("b") is { Restarts: 1, State: SupervisedIsolateState.Running },
            "both members restarted");

        Assert.Multiple(() =>
        {
            Assert.That(isolates.GetStatus("b").Isolate!.Id, Is.Not.EqualTo(bBefore));
            Assert.That(isolates.GetStatus("b").LastFault, Is.Null, "b was restarted for a's fault, not its own");
            Assert.That(isolates.GetStatus("outsider").Isolate!.Id, Is.EqualTo(outsiderBefore), "other supervisors are untouched");
        });
        await Wait.Bounded(host.StopAsync());
    }

    [Test]
    public async Task RestForOne_MiddleMemberFaults_ItAndTheMembersAfterItRestartTheOnesBeforeKeepRunning()
    {
        var logs = new ListLoggerProvider();
        RestartPolicy chain = RestartPolicy.RestForOne("chain", 3, TimeSpan.FromSeconds(30)).WithBackoff(TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(10));
        (IHost started, IIsolateHost isolates) = await TestHost.StartAsync(logs, o =>
        {
            o.AddChannel<int>("commands", capacity: 8);
            o.AddIsolate<IdleWorker>("first", chain);
            o.AddIsolate<ScriptedWorker, ChannelReader<int>>("middle", TestHost.Commands, chain);
            o.AddIsolate<IdleWorker>("last", chain);
        });
        using IHost host = started;
        long firstBefore = isolates.GetStatus("first").Isolate!.Id;
        long lastBefore = isolates.GetStatus("last").Isolate!.Id;

        await isolates.GetChannel<int>("commands").Writer.WriteAsync(WorkerCommand.Throw);
        await TestHost.WaitUntilAsync(
            () => isolates.GetStatus("middle") is { Restarts: 1, State: SupervisedIsolateState.Running } && isolates.GetStatus("last") is { Restarts: 1, State: SupervisedIsolateState.Running },
            "the faulted member and the one after it restarted");

        Assert.Multiple(() =>
        {
            Assert.That(isolates.GetStatus("first") is { Restarts: 0, State: SupervisedIsolateState.Running }, Is.True, "a member registered before the faulted one keeps running");
            Assert.That(isolates.GetStatus("first").Isolate!.Id, Is.EqualTo(firstBefore));
            Assert.That(isolates.GetStatus("last").Isolate!.Id, Is.Not.EqualTo(lastBefore), "the member after it runs in a fresh isolate");
            Assert.That(isolates.GetStatus("last").LastFault, Is.Null, "last was restarted for middle's fault, not its own");
            Assert.That(isolates.GetStatus("middle").LastFault, Is.Not.Null);
        });
        await Wait.Bounded(host.StopAsync());
    }

    [Test]
    public async Task Restart_ConstructorThrowsInNewIsolate_CountsAsAnotherFaultAndIsRetried()
    {
        var logs = new ListLoggerProvider();
        int attempts = 0;
        (IHost started, IIsolateHost isolates) = await TestHost.StartAsync(logs, o => o.AddIsolate<AttemptWorker, int>("attempts", _ => Interlocked.Increment(ref attempts), TestHost.Fast()));
        using IHost host = started;

        await TestHost.WaitUntilAsync(() => isolates.GetStatus("attempts") is { Restarts: 2, State: SupervisedIsolateState.Running }, "the third attempt runs");

        Assert.Multiple(() =>
        {
            Assert.That(Volatile.Read(ref attempts), Is.EqualTo(3), "the argument factory runs at every start");
            Assert.That(isolates.GetStatus("attempts").LastFault?.Message, Is.EqualTo("constructor failed on attempt 2"));
            Assert.That(logs.EventIds.Count(id => id == 32), Is.EqualTo(2));
        });
        await Wait.Bounded(host.StopAsync());
    }

    [Test]
    public async Task NeverPolicy_Fault_StaysDownAndHostKeepsRunning()
    {
        var logs = new ListLoggerProvider();
        (IHost started, IIsolateHost isolates) = await TestHost.StartAsync(logs, o => o.AddIsolate<CrashingWorker>("optional", RestartPolicy.Never));
        using IHost host = started;

        await TestHost.WaitUntilAsync(() => isolates.GetStatus("optional").State == SupervisedIsolateState.Failed, "the worker failed");

        Assert.That(host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested, Is.False);
        await Wait.Bounded(host.StopAsync());
    }

    private static void ScriptedOnly(IsolateHostOptions options) =>
        options.AddChannel<int>("commands", capacity: 8).AddIsolate<ScriptedWorker, ChannelReader<int>>("scripted", TestHost.Commands, TestHost.Fast());
}
