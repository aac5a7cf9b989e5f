using Isolates.Hosting;
using Isolates.Hosting.Diagnostics;
using Microsoft.Extensions.Diagnostics.HealthChecks;

// In the namespace of IServiceCollection, as Microsoft.Extensions' own Add* extensions are, so that
// services.AddIsolates(...) needs no using of its own (issue 13: README's snippet failed with CS1061).
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the isolates health check: <c>services.AddHealthChecks().AddIsolates()</c>.</summary>
public static class IsolateHealthCheckExtensions
{
    /// <summary>
    /// Adds a health check over the host's isolates: Unhealthy when a supervised isolate exhausted its restart
    /// intensity, Degraded when an isolate the host closed failed to unload (its memory stays in use), Healthy
    /// otherwise. Its data holds one entry per supervised isolate (state and restart count). Requires
    /// <see cref="IsolateServiceCollectionExtensions.AddIsolates(IServiceCollection, Action{IsolateHostOptions})"/>.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The check's name. Default <c>isolates</c>.</param>
    /// <param name="tags">Tags to filter checks by (for example <c>live</c> or <c>ready</c>).</param>
    /// <returns><paramref name="builder"/>, for chaining.</returns>
    public static IHealthChecksBuilder AddIsolates(this IHealthChecksBuilder builder, string name = "isolates", IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return builder.Add(new HealthCheckRegistration(
            name,
            sp => new IsolateHealthCheck(sp.GetService<IsolateHost>() ?? throw new InvalidOperationException("The isolates health check needs services.AddIsolates(...) to be called as well.")),
            failureStatus: HealthStatus.Unhealthy,
            tags));
    }
}
