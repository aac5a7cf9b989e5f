using System.Collections.Concurrent;
using Isolates.Benchmarks.Targets;

namespace Isolates.Benchmarks.Floors;

/// <summary>
/// The floors under <c>IsolatePool.MapAsync</c>: the same items through the same function with what .NET offers,
/// results in input order as MapAsync returns them.
/// </summary>
public static class PlainMap
{
    /// <summary>The plain loop on the calling thread: what a parallel map must beat.</summary>
    public static long[] Sequential(long[] inputs)
    {
        var results = new long[inputs.Length];
        for (int i = 0; i < inputs.Length; i++)
        {
            results[i] = Arithmetic.Mix(inputs[i]);
        }

        return results;
    }

    /// <summary><see cref="Parallel.For(int, int, Action{int})"/> on the thread pool, each result stored at its index.</summary>
    public static long[] ParallelFor(long[] inputs)
    {
        var results = new long[inputs.Length];
        Parallel.For(0, inputs.Length, i => results[i] = Arithmetic.Mix(inputs[i]));
        return results;
    }

    /// <summary>
    /// <see cref="Parallel.ForEach{TSource}(Partitioner{TSource}, Action{TSource})"/> over index ranges
    /// (<see cref="Partitioner.Create(int, int)"/>, the way the docs give for small loop bodies), each result stored
    /// at its index: one delegate call per range instead of one per item.
    /// </summary>
    public static long[] ParallelForEach(long[] inputs)
    {
        var results = new long[inputs.Length];
        Parallel.ForEach(Partitioner.Create(0, inputs.Length), range =>
        {
            for (int i = range.Item1; i < range.Item2; i++)
            {
                results[i] = Arithmetic.Mix(inputs[i]);
            }
        });
        return results;
    }
}
