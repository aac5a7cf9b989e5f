namespace Isolates.Benchmarks.Quick;

/// <summary>Guards against measuring something broken: a wrong answer stops the run instead of producing a number.</summary>
internal static class Check
{
    public static void Equal<T>(T expected, T actual)
    {
        if (!EqualityComparer<T>.Default.Equals(expected, actual))
        {
            throw new InvalidOperationException($"Expected {expected} but the benchmark got {actual}.");
        }
    }
}
