using Isolates.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Isolates.Tests.Hosting;

/// <summary>Builds real generic hosts for the hosting tests, with their logs captured and short timeouts.</summary>
internal static class TestHost
{
    /// <summary>A restart policy with a backoff short enough for tests.</summary>
    public static RestartPolicy Fast(int maxRestarts = 3) =>
        RestartPolicy.OneForOne(maxRestarts, TimeSpan.FromSeconds(30)).WithBackoff(TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(10));

    public static HostApplicationBuilder CreateBuilder(ListLoggerProvider logs, TimeProvider? time = null, TimeSpan? shutdownTimeout = null)
    {
        HostApplicationBuilder builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, EnvironmentName = "Testing" });
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logs);
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = shutdownTimeout ?? TimeSpan.FromSeconds(10));
        if (time is not null)
        {
            builder.Services.AddSingleton(time);
        }

        return builder;
    }

    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        using var timeout = new CancellationTokenSource(Wait.Timeout);
        while (!condition())
        {
            if (timeout.IsCancellationRequested)
            {
                Assert.Fail($"timed out waiting until {what}");
            }

            await Task.Delay(10);
        }
    }
}
