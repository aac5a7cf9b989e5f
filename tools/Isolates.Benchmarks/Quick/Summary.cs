namespace Isolates.Benchmarks.Quick;

/// <summary>
/// The median and 99th percentile of a set of samples (or one value, for figures that are averages). For figures
/// where higher is better (speedups) <see cref="P99"/> holds the 1st percentile instead: always the bad tail. With
/// fewer than 100 samples the tail is the single worst sample.
/// </summary>
internal readonly record struct Summary(double P50, double P99, int Count)
{
    /// <summary>A figure that is one number (an average over many), so it has no spread to report.</summary>
    public static Summary Single(double value, int count) => new(value, double.NaN, count);
}
