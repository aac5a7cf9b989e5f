using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Isolates.Benchmarks.Targets;

/// <summary>
/// CPU-bound work for the parallel-map figures: a deterministic arithmetic loop whose length is calibrated to a
/// wanted duration. An item is one <c>long</c> (a seed in the high half, the iteration count in the low half), so it
/// crosses into an isolate as it is and the isolate needs no static state set by the host (its statics are its own).
/// </summary>
public static class Arithmetic
{
    /// <summary>An item: <paramref name="seed"/> makes each result different, <paramref name="iterations"/> sets its cost.</summary>
    public static long Item(int seed, int iterations) => ((long)seed << 32) | (uint)iterations;

    /// <summary>
    /// The work: a chain of multiply, add, shift and xor, each step depending on the last, so the time is the same
    /// on every core and the result cannot be computed without running it. <c>AggressiveOptimization</c> makes the
    /// host compile it fully optimized at once, as every isolate does (code in a collectible context gets no tiering),
    /// so all three ways of running it run the same machine code; <c>NoInlining</c> keeps it one call per item everywhere.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static long Mix(long item)
    {
        int iterations = (int)(item & 0xFFFF_FFFF);
        ulong x = ((ulong)item >> 32) * 0x9E37_79B9_7F4A_7C15UL + 1;
        for (int i = 0; i < iterations; i++)
        {
            x = (x * 6_364_136_223_846_793_005UL) + 1_442_695_040_888_963_407UL;
            x ^= x >> 29;
        }

        return (long)x;
    }

    /// <summary>
    /// How many iterations of <see cref="Mix"/> take <paramref name="microseconds"/> on this machine: the fastest of
    /// several timed probes (the one least disturbed by other work), scaled. The probes are spread over about 50 ms,
    /// so one burst of other work (a background JIT compilation on the other core) cannot slow them all: in separate
    /// processes, as BenchmarkDotNet runs each benchmark, back-to-back probes disagreed by up to 5%. Calibrated once, on the host.
    /// </summary>
    public static int IterationsFor(double microseconds)
    {
        const int Probe = 100_000;
        const int Probes = 40;
        long fastest = long.MaxValue;
        long sink = 0;
        for (int i = 0; i < Probes; i++)
        {
            long start = Stopwatch.GetTimestamp();
            sink ^= Mix(Item(i, Probe));
            fastest = Math.Min(fastest, Stopwatch.GetTimestamp() - start);
            Thread.Sleep(1);
        }

        GC.KeepAlive(sink);
        double secondsPerIteration = (double)fastest / Stopwatch.Frequency / Probe;
        return (int)Math.Clamp(Math.Round(microseconds / 1e6 / secondsPerIteration), 1, int.MaxValue);
    }

    /// <summary><paramref name="count"/> items of <paramref name="iterations"/> each, seeded 0, 1, 2...</summary>
    public static long[] Inputs(int count, int iterations)
    {
        var inputs = new long[count];
        for (int i = 0; i < count; i++)
        {
            inputs[i] = Item(i, iterations);
        }

        return inputs;
    }
}
