using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Isolates.Tests.Diagnostics;

/// <summary>A MeterListener on the Isolates meter that keeps every measurement, for asserting what the runtime reports.</summary>
internal sealed class RecordedMeasurements : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<Recorded> _recorded = new();

    public RecordedMeasurements()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == IsolateTelemetry.MeterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Add(instrument, value, tags));
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Add(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Add(instrument, value, tags));
        _listener.Start();
    }

    public sealed record Recorded(string Instrument, double Value, IReadOnlyDictionary<string, object?> Tags)
    {
        public string? Tag(string name) => Tags.TryGetValue(name, out object? value) ? Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) : null;
    }

    /// <summary>Every measurement of <paramref name="instrument"/> so far whose tag <paramref name="tag"/> equals <paramref name="value"/> (all of them when tag is null).</summary>
    public IReadOnlyList<Recorded> Of(string instrument, string? tag = null, string? value = null) =>
        [.. _recorded.Where(r => r.Instrument == instrument && (tag is null || r.Tag(tag) == value))];

    /// <summary>Asks every observable instrument for its current values, then returns those of <paramref name="instrument"/>.</summary>
    public IReadOnlyList<Recorded> Observe(string instrument, string? tag = null, string? value = null)
    {
        int before = _recorded.Count;
        _listener.RecordObservableInstruments();
        return [.. _recorded.Skip(before).Where(r => r.Instrument == instrument && (tag is null || r.Tag(tag) == value))];
    }

    public void Dispose() => _listener.Dispose();

    private void Add<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        where T : struct, IConvertible
    {
        var copy = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (KeyValuePair<string, object?> tag in tags)
        {
            copy[tag.Key] = tag.Value;
        }

        _recorded.Enqueue(new Recorded(instrument.Name, value.ToDouble(System.Globalization.CultureInfo.InvariantCulture), copy));
    }
}
