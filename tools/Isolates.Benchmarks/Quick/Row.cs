namespace Isolates.Benchmarks.Quick;

/// <summary>One line of the results: a figure for Isolates beside its floor, both measured in the same run.</summary>
internal sealed record Row(string Figure, string Unit, Summary Isolates, string Floor, Summary FloorSummary)
{
    /// <summary>How many times the floor's median the Isolates median is.</summary>
    public double Ratio => Isolates.P50 / FloorSummary.P50;
}
