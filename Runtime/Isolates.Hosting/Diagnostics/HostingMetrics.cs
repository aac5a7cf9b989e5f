using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Isolates.Hosting.Diagnostics;

/// <summary>
/// The hosting layer's instruments on the <c>Isolates</c> meter (<see cref="IsolateTelemetry.MeterName"/>, the one the core runtime uses, so one
/// subscription in OpenTelemetry or <c>dotnet-counters monitor Isolates</c> sees both).
/// </summary>
internal sealed class HostingMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _restarts;
    private readonly Counter<long> _faults;
    private readonly Counter<long> _undelivered;

    public HostingMetrics(IMeterFactory? factory, Func<int> runningSupervised)
    {
        _ownsMeter = factory is null;
        _meter = factory?.Create(IsolateTelemetry.MeterName) ?? new Meter(IsolateTelemetry.MeterName);
        _restarts = _meter.CreateCounter<long>("isolates.isolate.restarts", "{restart}", "Restarts of supervised isolates (tag isolate.name)");
        _faults = _meter.CreateCounter<long>("isolates.supervised.faults", "{fault}", "Faults of supervised isolates (tag isolate.name)");
        _undelivered = _meter.CreateCounter<long>("isolates.channel.undelivered", "{item}", "Items left in host channels when the host stopped (tag channel.name)");
        _meter.CreateObservableUpDownCounter("isolates.supervised.running", runningSupervised, "{isolate}", "Supervised isolates running now");
    }

    public void Restarted(string name) => _restarts.Add(1, new TagList { { "isolate.name", name } });

    public void Faulted(string name) => _faults.Add(1, new TagList { { "isolate.name", name } });

    public void Undelivered(string channel, int count) => _undelivered.Add(count, new TagList { { "channel.name", channel } });


    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
