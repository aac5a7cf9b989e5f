namespace Isolates;

/// <summary>
/// The names under which the runtime publishes its metrics and traces, so that tools and code that add their own
/// instruments (the hosting layer's restart counter, for example) can subscribe to or join them without repeating
/// string literals. Every instrument and activity is described in <c>docs/observability.md</c>.
/// </summary>
public static class IsolateTelemetry
{
    /// <summary>
    /// The name of the <see cref="System.Diagnostics.Metrics.Meter"/> that carries every Isolates instrument.
    /// Subscribe with <c>dotnet-counters monitor --counters Isolates</c> or OpenTelemetry's <c>AddMeter("Isolates")</c>.
    /// Other components may create their own meter of the same name; listeners match meters by name.
    /// </summary>
    public const string MeterName = "Isolates";

    /// <summary>
    /// The name of the <see cref="System.Diagnostics.ActivitySource"/> that produces the activities of calls
    /// (run inside the isolate) and channel messages (received by a reader). Subscribe with OpenTelemetry's
    /// <c>AddSource("Isolates")</c>. Nothing is captured or created while no listener samples this source.
    /// </summary>
    public const string ActivitySourceName = "Isolates";
}
