using System.Diagnostics;

namespace Isolates.Orleans;

/// <summary>The package's trace source: a span per chunk on the silo that runs it, a child of the caller's span.</summary>
internal static class ClusterTelemetry
{
    public const string SourceName = "Isolates.Orleans";

    public static readonly ActivitySource Source = new(SourceName);
}
