using Isolates.Hosting;
using Isolates.Tests.Support.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Isolates.Tests.Hosting;

[CancelAfter(60_000)]
public sealed class ShutdownTests
{
    [Test]
    public async Task StopAsync_ChannelWithItems_IsDrainedByItsReaderBeforeWorkersAreCancelled()
    {
        var logs = new ListLoggerProvider();
        (IHost started, IIsolateHost isolates) = await TestHost.StartAsync(logs, o =>
        {
            o.AddChannel<int>("input", capacity: 100);
            o.AddIsolate<ConsumingWorker, System.Threading.Channels.ChannelReader<int>>("consumer", sp => sp.GetRequiredService<IIsolateHost>().GetChannel<int>("input").Reader, TestHost.Fast());
        });
        using IHost host = started;
        for (int i = 0; i < 50; i++)
        {
            await isolates.GetChannel<int>("input").Writer.WriteAsync(i);
        }

        await Wait.Bounded(host.StopAsync());

        Assert.Multiple(() =>
        {
            Assert.That(logs.EventIds, Does.Contain(35), "drained");
            Assert.That(logs.EventIds, Does.Not.Contain(36), "nothing undelivered");
            Assert.That(isolates.GetStatus("consumer").State, Is.EqualTo(SupervisedIsolateState.Stopped));
            Assert.That(isolates.GetChannel<int>("input").Writer.TryWrite(1), Is.False, "the channel is closed after stop");
        });
    }

    [Test]
    public async Task StopAsync_WhileStarting_WaitsForTheStartThenStopsEverythingItStarted()
    {
        // A host told to shut down during start-up calls StopAsync while StartAsync is still running; the isolates the
        // start goes on to create must not be left running.
        var logs = new ListLoggerProvider();
        HostApplicationBuilder builder = TestHost.CreateBuilder(logs);
        builder.Services.AddIsolates(o => o
            .AddPool("slow-to-start", new IsolatePoolOptions { Size = 1, Initializer = HostingFunctions.SlowInitializer })
            .AddIsolate<IdleWorker>("started-while-stopping", TestHost.Fast()));
        using IHost host = builder.Build();
        IIsolateHost isolates = host.Services.GetRequiredService<IIsolateHost>();
        var hosted = (IHostedService)isolates;

        Task starting = hosted.StartAsync(CancellationToken.None);
        Task stopping = hosted.StopAsync(CancellationToken.None);
        Assert.That(starting.IsCompleted, Is.False, "the pool's initializer takes 300 ms");
        Assert.That(stopping.IsCompleted, Is.False, "the stop waits for the start");
        await Wait.Bounded(starting);
        await Wait.Bounded(stopping);

        Assert.That(isolates.GetStatus("started-while-stopping").State, Is.EqualTo(SupervisedIsolateState.Stopped));
        Assert.That(hosted.StopAsync(CancellationToken.None).IsCompleted, Is.True, "a second stop finds the first one done");
    }

    [Test]
    public async Task StopAsync_ChannelNobodyReads_LogsUndeliveredCountAfterShutdownTimeout()
    {
        var logs = new ListLoggerProvider();
        (IHost started, IIsolateHost isolates) = await TestHost.StartAsync(
            logs,
            o => o.AddChannel<string>("orphan", capacity: 10).AddIsolate<IdleWorker>("idle", TestHost.Fast()),
            shutdownTimeout: TimeSpan.FromMilliseconds(300));
        using IHost host = started;
        for (int i = 0; i < 7; i++)
        {
            await isolates.GetChannel<string>("orphan").Writer.WriteAsync($"item {i}");
        }

        await Wait.Bounded(host.StopAsync());

        Assert.That(logs.Messages, Has.Some.Contains("orphan was closed with 7 undelivered items"));
        Assert.That(logs.EventIds, Does.Contain(36));
    }

    [Test]
    public async Task StopAsync_FakeClockAndChannelNobodyReads_DrainStillEndsAfterShutdownTimeout()
    {
        var logs = new ListLoggerProvider();
        (IHost started, IIsolateHost isolates) = await TestHost.StartAsync(
            logs,
            o => o.AddChannel<string>("orphan-fake-clock", capacity: 10).AddIsolate<IdleWorker>("idle-fake-clock", TestHost.Fast()),
            time: new Microsoft.Extensions.Time.Testing.FakeTimeProvider(),
            shutdownTimeout: TimeSpan.FromMilliseconds(300));
        using IHost host = started;
        await isolates.GetChannel<string>("orphan-fake-clock").Writer.WriteAsync("never read");

        // No stop token: the way DisposeAsync stops a host that was never stopped.
        await Wait.Bounded(((IHostedService)isolates).StopAsync(CancellationToken.None));

        Assert.That(logs.Messages, Has.Some.Contains("orphan-fake-clock was closed with 1 undelivered items"));
    }

    [Test]
    public async Task StopAsync_WorkerIgnoresCancellation_IsClosedAfterItsCloseTimeoutAndLogged()
    {
        var logs = new ListLoggerProvider();
        (IHost started, IIsolateHost isolates) = await TestHost.StartAsync(
            logs,
            o => o.AddIsolate<StubbornWorker>("stubborn", TestHost.Fast(), new IsolateOptions { CloseTimeout = TimeSpan.FromMilliseconds(200) }));
        using IHost host = started;
        Isolate worker = isolates.GetStatus("stubborn").Isolate!;

        await Wait.Bounded(host.StopAsync());

        Assert.Multiple(() =>
        {
            Assert.That(logs.EventIds, Does.Contain(40));
            Assert.That(isolates.GetStatus("stubborn").State, Is.EqualTo(SupervisedIsolateState.Stopped));
            Assert.That(worker.State, Is.EqualTo(IsolateState.Closed), "an async wait does not hold the thread, so the isolate still closes");
            Assert.That(Isolate.All, Has.No.Member(worker));
        });
    }

    [Test]
    public async Task Dispose_StartedHostNeverStopped_StillClosesItsIsolates()
    {
        var logs = new ListLoggerProvider();
        (IHost host, IIsolateHost isolates) = await TestHost.StartAsync(logs, o => o.AddIsolate<IdleWorker>("idle", TestHost.Fast()));
        Isolate worker = isolates.GetStatus("idle").Isolate!;

        await Wait.Bounded(Task.Run(host.Dispose));

        Assert.That(worker.State, Is.EqualTo(IsolateState.Closed));
        Assert.That(Isolate.All, Has.No.Member(worker));
    }

    [Test]
    public async Task DisposeAsync_WhileAStopIsInProgress_WaitsForThatStop()
    {
        var logs = new ListLoggerProvider();
        (IHost host, IIsolateHost isolates) = await TestHost.StartAsync(logs, o => o.AddIsolate<IdleWorker>("idle-dispose", TestHost.Fast()));
        using IHost owned = host;
        Isolate worker = isolates.GetStatus("idle-dispose").Isolate!;

        Task first = ((IHostedService)isolates).StopAsync(CancellationToken.None);
        Task second = ((IHostedService)isolates).StopAsync(CancellationToken.None);
        await Wait.Bounded(((IAsyncDisposable)isolates).DisposeAsync().AsTask());

        Assert.Multiple(() =>
        {
            Assert.That(second, Is.SameAs(first), "a second stop gets the stop in progress");
            Assert.That(first.IsCompleted, "dispose returned only after the stop finished");
            Assert.That(worker.State, Is.EqualTo(IsolateState.Closed));
            Assert.That(Isolate.All, Has.No.Member(worker));
        });
    }

    [Test]
    public async Task StartAsync_WorkerConstructorThrows_FailsNamingTheIsolateAndLeavesNothingRunning()
    {
        var logs = new ListLoggerProvider();
        HostApplicationBuilder builder = TestHost.CreateBuilder(logs);
        builder.Services.AddIsolates(o =>
        {
            o.AddPool("scoring", size: 1);
            o.AddIsolate<BrokenConstructorWorker>("broken", TestHost.Fast());
        });
        using IHost host = builder.Build();

        var error = Assert.ThrowsAsync<InvalidOperationException>(() => Wait.Bounded(host.StartAsync()));

        Assert.Multiple(() =>
        {
            Assert.That(error!.Message, Does.Contain("supervised isolate 'broken'").And.Contain("cannot construct"));
            Assert.That(Isolate.All.Select(i => i.Name), Has.None.EqualTo("broken").And.None.EqualTo("scoring-0"));
            Assert.That(logs.EventIds, Does.Contain(38));
        });
    }

    [Test]
    public async Task StartAsync_PoolInitializerThrows_FailsNamingThePool()
    {
        var logs = new ListLoggerProvider();
        HostApplicationBuilder builder = TestHost.CreateBuilder(logs);
        builder.Services.AddIsolates(o => o.AddPool("bad", new IsolatePoolOptions { Size = 1, Initializer = HostingFunctions.FailingInitializer }));
        using IHost host = builder.Build();

        var error = Assert.ThrowsAsync<InvalidOperationException>(() => Wait.Bounded(host.StartAsync()));

        Assert.That(error!.Message, Does.Contain("pool 'bad'").And.Contain("initializer failed"));
        await Task.CompletedTask;
    }

    [Test]
    public async Task GetPool_BeforeStartUnknownOrAfterStop_ThrowsClearErrors()
    {
        var logs = new ListLoggerProvider();
        HostApplicationBuilder builder = TestHost.CreateBuilder(logs);
        builder.Services.AddIsolates(o => o.AddPool("scoring", size: 1).AddChannel<int>("numbers", 4));
        using IHost host = builder.Build();
        IIsolateHost isolates = host.Services.GetRequiredService<IIsolateHost>();

        Assert.That(() => isolates.GetPool("scoring"), Throws.InvalidOperationException.With.Message.Contains("after IHost.StartAsync"));
        Assert.That(() => isolates.GetPool("other"), Throws.ArgumentException.With.Message.Contains("configured pools: 'scoring'"));
        Assert.That(() => isolates.GetChannel<string>("numbers"), Throws.ArgumentException.With.Message.Contains("System.Int32"));
        Assert.That(() => isolates.GetStatus("nobody"), Throws.ArgumentException.With.Message.Contains("No supervised isolate named 'nobody'"));
        Assert.That(isolates.GetChannel<int>("numbers"), Is.Not.Null, "channels exist before start");

        await Wait.Bounded(host.StartAsync());
        await Wait.Bounded(host.StopAsync());
        Assert.That(() => isolates.GetPool("scoring"), Throws.TypeOf<ObjectDisposedException>());
    }
}
