using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Isolates.Hosting.Diagnostics;

/// <summary>Reports exhausted supervised isolates (Unhealthy) and isolates that failed to unload (Degraded).</summary>
internal sealed class IsolateHealthCheck(IsolateHost host) : IHealthCheck
{
    /// <summary>Per-isolate entries are prefixed, so no isolate name can collide with the summary entries.</summary>
    public const string IsolateKeyPrefix = "isolate:";

    public const string UnloadFailuresKey = "unload-failures";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<IsolateStatus> statuses = host.GetStatuses();
        var data = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (IsolateStatus status in statuses)
        {
            data[IsolateKeyPrefix + status.Name] = $"{status.State}, {status.Restarts} restarts" +
                (status.LastFault is { } fault ? $", last fault: {fault.Message}" : string.Empty) +
                (status.UnloadFailures > 0 ? $", {status.UnloadFailures} failed to unload" : string.Empty);
        }

        int leaked = host.LeakedIsolates;
        data[UnloadFailuresKey] = leaked;
        string[] exhausted = [.. statuses.Where(s => s.State == SupervisedIsolateState.Exhausted).Select(s => s.Name)];
        HealthCheckResult result = exhausted.Length > 0
            ? new HealthCheckResult(context.Registration.FailureStatus, $"Supervised isolates exhausted their restarts: {string.Join(", ", exhausted)}", data: data)
            : leaked > 0
                ? HealthCheckResult.Degraded($"{leaked} isolates failed to unload; their memory stays in use (see log event 37)", data: data)
                : HealthCheckResult.Healthy($"{statuses.Count(s => s.State == SupervisedIsolateState.Running)} supervised isolates running", data);
        return Task.FromResult(result);
    }
}
