using Isolates.Hosting;
using Isolates.Tests.Support.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Isolates.Tests.Hosting;

[CancelAfter(60_000)]
public sealed class HealthCheckTests
{
    [Test]
    public async Task CheckHealth_RunningIsolates_IsHealthyWithDataPerIsolate()
    {
        var logs = new ListLoggerProvider();
        (IHost started, _) = await TestHost.StartAsync(logs, o => o.AddIsolate<IdleWorker>("idle", TestHost.Fast()), services: WithHealthChecks);
        using IHost host = started;

        HealthReport report = await Wait.Bounded(host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync());

        Assert.That(report.Status, Is.EqualTo(HealthStatus.Healthy));
        Assert.That(report.Entries["isolates"].Data["isolate:idle"], Is.EqualTo("Running, 0 restarts"));
        Assert.That(report.Entries["isolates"].Data["unload-failures"], Is.EqualTo(0));
        await Wait.Bounded(host.StopAsync());
    }

    [Test]
    public async Task CheckHealth_RestartsExhausted_IsUnhealthy()
    {
        int exitCodeBefore = Environment.ExitCode;
        try
        {
            var logs = new ListLoggerProvider();
            (IHost started, _) = await TestHost.StartAsync(logs, o => o.AddIsolate<CrashingWorker>("crashing", TestHost.Fast(maxRestarts: 0)), services: WithHealthChecks);
            using IHost host = started;
            await Wait.Bounded(host.WaitForShutdownAsync());

            HealthReport report = await Wait.Bounded(host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync());

            Assert.That(report.Status, Is.EqualTo(HealthStatus.Unhealthy));
            Assert.That(report.Entries["isolates"].Description, Does.Contain("crashing"));
        }
        finally
        {
            Environment.ExitCode = exitCodeBefore;
        }
    }

    [Test]
    public async Task CheckHealth_IsolateFailedToUnload_IsDegraded()
    {
        var logs = new ListLoggerProvider();
        (IHost started, IIsolateHost isolates) = await TestHost.StartAsync(logs, o => o.AddIsolate<LeakingWorker>("leaking", TestHost.Fast(), new IsolateOptions { UnloadTimeout = TimeSpan.FromMilliseconds(200) }), services: WithHealthChecks);
        using IHost host = started;

        await TestHost.WaitUntilAsync(() => isolates.GetStatus("leaking").UnloadFailures == 1, "the unload check reported the leak");
        HealthReport report = await Wait.Bounded(host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync());

        Assert.That(report.Status, Is.EqualTo(HealthStatus.Degraded));
        Assert.That(logs.EventIds, Does.Contain(37));
        await Wait.Bounded(host.StopAsync());
    }

    private static void WithHealthChecks(IServiceCollection services) => services.AddHealthChecks().AddIsolates();
}
