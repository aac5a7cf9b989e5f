using Isolates.Hosting;
using Isolates.Hosting.Registrations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

// In the namespace of IServiceCollection, as Microsoft.Extensions' own Add* extensions are, so that
// services.AddIsolates(...) needs no using of its own (issue 13: README's snippet failed with CS1061).
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds isolates to a host's services: <c>builder.Services.AddIsolates(o => ...)</c>.</summary>
public static class IsolateServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IIsolateHost"/> and a hosted service that starts the configured pools and supervised
    /// isolates when the host starts (start-up fails, naming what could not start, if one cannot) and stops, drains
    /// and unloads them when it stops. May be called more than once; registrations add up.
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <param name="configure">Adds pools, supervised isolates and channels.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    /// <exception cref="ArgumentException">A registration is invalid; the message says what to fix.</exception>
    public static IServiceCollection AddIsolates(this IServiceCollection services, Action<IsolateHostOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        configure(GetOrAddOptions(services));
        return services;
    }

    /// <summary>
    /// Registers isolates from a configuration section (for example <c>builder.Configuration.GetSection("Isolates")</c>):
    /// <c>Pools</c>, <c>Isolates</c> (supervised, by worker type name and restart policy), <c>Channels</c> and
    /// <c>FailureExitCode</c>. The schema is in docs/hosting.md. The section is read now, so a mistake fails here.
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <param name="configuration">The section to read.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    /// <exception cref="InvalidOperationException">A value is missing, malformed or unknown, or a worker type cannot be found; the message gives its configuration path.</exception>
    public static IServiceCollection AddIsolates(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        ConfigurationReader.Read(configuration, GetOrAddOptions(services));
        return services;
    }

    private static IsolateHostOptions GetOrAddOptions(IServiceCollection services)
    {
        if (services.FirstOrDefault(d => d.ServiceType == typeof(IsolateHostOptions))?.ImplementationInstance is IsolateHostOptions existing)
        {
            return existing;
        }

        var options = new IsolateHostOptions();
        services.AddSingleton(options);
        services.TryAddSingleton(sp => new IsolateHost(sp.GetRequiredService<IsolateHostOptions>(), sp));
        services.TryAddSingleton<IIsolateHost>(sp => sp.GetRequiredService<IsolateHost>());
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<IsolateHost>());
        return options;
    }
}
