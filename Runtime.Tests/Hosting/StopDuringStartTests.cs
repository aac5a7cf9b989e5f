using Isolates.Hosting;
using Isolates.Tests.Support;
using Isolates.Tests.Support.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Isolates.Tests.Hosting;

/// <summary>A stop that arrives while the host is still starting, or while a failed start is still cleaning up.</summary>
[TestFixture]
[CancelAfter(30_000)]
public class StopDuringStartTests
{
    [Test]
    public async Task StopAsync_WhileAFailedStartIsStillClosingWhatItStarted_WaitsForThatCleanup()
    {
        // Worker 'busy' starts and keeps its isolate's thread for 1.5 s; worker 'broken' then fails to construct, so the
        // start fails and closes 'busy' (waiting for its thread). A StopAsync (or DisposeAsync) arriving during that
        // clean-up must wait for it, not return with 'busy' still running.
        var logs = new ListLoggerProvider();
        HostApplicationBuilder builder = TestHost.CreateBuilder(logs);
        builder.Services.AddIsolates(o => o
            .AddIsolate<BlockingWorker>("busy", TestHost.Fast())
            .AddIsolate<BrokenConstructorWorker>("broken", TestHost.Fast()));
        using IHost host = builder.Build();
        IIsolateHost isolates = host.Services.GetRequiredService<IIsolateHost>();
        var hosted = (IHostedService)isolates;

        Task starting = hosted.StartAsync(CancellationToken.None);
        await TestHost.WaitUntilAsync(() => logs.Messages.Any(m => m.Contains("could not start")), "the start to fail on 'broken'");
        Assert.That(starting.IsCompleted, Is.False, "the failed start is still closing 'busy' (its thread sleeps 1.5 s)");

        Task stopping = hosted.StopAsync(CancellationToken.None);
        bool stopReturnedBeforeCleanup = stopping.IsCompleted && !starting.IsCompleted;
        try
        {
            await Wait.Bounded(starting);
        }
        catch (InvalidOperationException)
        {
            // the start fails, as arranged
        }

        Assert.That(stopReturnedBeforeCleanup, Is.False, "a stop that arrives while a failed start cleans up waits for the clean-up");
    }

    [Test]
    public async Task StopAsync_WhileStarting_HonoursItsCancellationToken()
    {
        // The generic host cancels StopAsync's token when its ShutdownTimeout is up ("no longer graceful"). A stop that
        // arrives during start-up then stops waiting for the start, and the stop still happens once the start is done.
        var logs = new ListLoggerProvider();
        HostApplicationBuilder builder = TestHost.CreateBuilder(logs);
        builder.Services.AddIsolates(o => o
            .AddPool("very-slow-to-start", new IsolatePoolOptions { Size = 1, Initializer = StartupFunctions.VerySlowInitializer }));
        using IHost host = builder.Build();
        var hosted = (IHostedService)host.Services.GetRequiredService<IIsolateHost>();

        Task starting = hosted.StartAsync(CancellationToken.None);
        using var stopToken = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        Task stopping = hosted.StopAsync(stopToken.Token);

        Task first = await Task.WhenAny(stopping, Task.Delay(2000));
        bool stopEndedSoonAfterItsToken = first == stopping;
        await Wait.Bounded(starting);
        await Wait.Bounded(stopping);
        await Wait.Bounded(hosted.StopAsync(CancellationToken.None)); // the stop itself still ran once the start was done

        Assert.That(stopEndedSoonAfterItsToken, Is.True, "a cancelled stop returns, it does not wait out a 4 s start");
        IIsolateHost isolates = host.Services.GetRequiredService<IIsolateHost>();
        Assert.That(() => isolates.GetPool("very-slow-to-start"), Throws.TypeOf<ObjectDisposedException>(), "what the start made was stopped");
    }
}
