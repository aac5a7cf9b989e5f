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

    /// <summary>Builds a host with <paramref name="configure"/> as its isolates, starts it and returns it with its <see cref="IIsolateHost"/>.</summary>
    public static async Task<(IHost Host, IIsolateHost Isolates)> StartAsync(
        ListLoggerProvider logs,
        Action<IsolateHostOptions> configure,
        TimeProvider? time = null,
        TimeSpan? shutdownTimeout = null,
        Action<IServiceCollection>? services = null)
    {
        HostApplicationBuilder builder = CreateBuilder(logs, time, shutdownTimeout);
        builder.Services.AddIsolates(configure);
        services?.Invoke(builder.Services);
        IHost host = builder.Build();
        try
        {
            await Wait.Bounded(host.StartAsync());
        }
        catch
        {
            host.Dispose();
            throw;
        }

        return (host, host.Services.GetRequiredService<IIsolateHost>());
    }

    /// <summary>The reader of the host channel "commands", as the argument of a <c>ScriptedWorker</c>.</summary>
    public static System.Threading.Channels.ChannelReader<int> Commands(IServiceProvider services) =>
        services.GetRequiredService<IIsolateHost>().GetChannel<int>("commands").Reader;

    public static Task WaitUntilAsync(Func<bool> condition, string what) => Diagnostics.Poll.Until(condition, what);
}
