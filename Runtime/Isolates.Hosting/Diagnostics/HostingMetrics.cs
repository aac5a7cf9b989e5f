using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Isolates.Hosting.Diagnostics;

/// <summary>
/// The hosting layer's instruments on the <c>Isolates</c> meter (the same name the core runtime uses, so one
/// subscription in OpenTelemetry or <c>dotnet-counters monitor Isolates</c> sees both).
/// </summary>
internal sealed class HostingMetrics : IDisposable
{
    public const string MeterName = "Isolates";

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _restarts;
    private readonly Counter<long> _faults;
    private readonly Counter<long> _undelivered;
    private readonly Counter<long> _unloadFailures;

    public HostingMetrics(IMeterFactory? factory, Func<int> runningSupervised)
    {
        _ownsMeter = factory is null;
        _meter = factory?.Create(MeterName) ?? new Meter(MeterName);
        _restarts = _meter.CreateCounter<long>("isolates.restarts", "{restart}", "Restarts of supervised isolates (tag isolate.name)");
        _faults = _meter.CreateCounter<long>("isolates.supervised.faults", "{fault}", "Faults of supervised isolates (tag isolate.name)");
        _undelivered = _meter.CreateCounter<long>("isolates.channel.undelivered", "{item}", "Items left in host channels when the host stopped (tag channel.name)");
        _unloadFailures = _meter.CreateCounter<long>("isolates.hosting.unload_failures", "{isolate}", "Isolates owned by the host that failed to unload (tag isolate.name)");
        _meter.CreateObservableUpDownCounter("isolates.supervised.running", runningSupervised, "{isolate}", "Supervised isolates running now");
    }

    public void Restarted(string name) => _restarts.Add(1, new TagList { { "isolate.name", name } });

    public void Faulted(string name) => _faults.Add(1, new TagList { { "isolate.name", name } });

    public void Undelivered(string channel, int count) => _undelivered.Add(count, new TagList { { "channel.name", channel } });

    public void UnloadFailed(string name) => _unloadFailures.Add(1, new TagList { { "isolate.name", name } });

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
