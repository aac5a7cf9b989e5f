namespace Isolates.Benchmarks.Quick;

/// <summary>
/// One line of the results: a figure for Isolates beside its floor, both measured in the same run. Figures whose
/// floor is near zero (a cost left after subtracting the work) set <paramref name="HasRatio"/> false: dividing by
/// nearly nothing would print a large, meaningless ratio.
/// </summary>
internal sealed record Row(string Figure, string Unit, Summary Isolates, string Floor, Summary FloorSummary, bool HasRatio = true)
{
    /// <summary>How many times the floor's median the Isolates median is (NaN, printed as "-", without a ratio).</summary>
    public double Ratio => HasRatio ? Isolates.P50 / FloorSummary.P50 : double.NaN;
}
