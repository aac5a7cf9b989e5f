using System.Diagnostics;

namespace Isolates.Benchmarks.Quick;

/// <summary>
/// Durations in one unit, recorded from raw <see cref="Stopwatch"/> timestamps: TimeSpan's 100 ns resolution is too
/// coarse for round trips of about a microsecond.
/// </summary>
internal sealed class Samples(double unitsPerSecond, int capacity)
{
    private readonly List<double> _values = new(capacity);

    public static Samples Milliseconds(int capacity) => new(1e3, capacity);

    public static Samples Microseconds(int capacity) => new(1e6, capacity);

    /// <summary>Figures that are not timed directly (speedups, derived costs), recorded with <see cref="AddValue"/>.</summary>
    public static Samples Values(int capacity) => new(1, capacity);

    /// <summary>Records the time from <paramref name="start"/> to <paramref name="end"/> (both Stopwatch timestamps).</summary>
    public void Add(long start, long end) => _values.Add((end - start) * unitsPerSecond / Stopwatch.Frequency);

    /// <summary>The recorded values in the order they were added, in this instance's unit.</summary>
    public IReadOnlyList<double> Recorded => _values;

    /// <summary>Records a figure as it is.</summary>
    public void AddValue(double value) => _values.Add(value);

    /// <summary>
    /// The median and the bad tail: the 99th percentile, or the 1st when <paramref name="higherIsBetter"/> (speedups),
    /// so the tail column always shows the worst runs.
    /// </summary>
    public Summary Summarize(bool higherIsBetter = false)
    {
        if (_values.Count == 0)
        {
            return new Summary(double.NaN, double.NaN, 0);
        }

        double[] sorted = [.. _values];
        Array.Sort(sorted);
        return new Summary(Percentile(sorted, 0.50), Percentile(sorted, higherIsBetter ? 0.01 : 0.99), sorted.Length);
    }

    // Nearest rank: an actual sample, never an interpolation between two.
    private static double Percentile(double[] sorted, double fraction) =>
        sorted[Math.Clamp((int)Math.Ceiling(fraction * sorted.Length) - 1, 0, sorted.Length - 1)];
}
