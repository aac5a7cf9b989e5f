using BenchmarkDotNet.Attributes;
using Isolates.Benchmarks.Floors;
using Isolates.Benchmarks.Targets;

namespace Isolates.Benchmarks.Suites;

/// <summary>
/// A parallel map of CPU-bound items: <c>IsolatePool.MapAsync</c> on one isolate per core beside the plain loop (the
/// baseline, so the Ratio column is time over the loop: 0.5 is a 2x speedup), <c>Parallel.For</c> and
/// <c>Parallel.ForEach</c> over index ranges. Each case is 200 ms of work for the loop, as items of
/// <see cref="MicrosecondsPerItem"/>. Every benchmark runs in its own process, so each calibrates the work again; the
/// iteration count is printed as a "// calibration" line to compare.
/// </summary>
[MemoryDiagnoser]
public class MapBenchmarks
{
    private const int LoopMicroseconds = 200_000;

    private IsolatePool _pool = null!;
    private long[] _inputs = null!;

    /// <summary>About how long each item's work takes: 1 ms (does the map use every core?) or 10 µs (what does an item cost?).</summary>
    [Params(1_000, 10)]
    public int MicrosecondsPerItem { get; set; }

    [GlobalSetup]
    public async Task StartAsync()
    {
        // The pool first, and a small map on it, so the compilations they cause are over before the calibration.
        _pool = await IsolatePool.CreateAsync(new IsolatePoolOptions { Size = Environment.ProcessorCount, Name = "map" });
        long[] small = Arithmetic.Inputs(64, 1_000);
        if (!(await _pool.MapAsync(small, Arithmetic.Mix)).SequenceEqual(PlainMap.ParallelFor(small)))
        {
            throw new InvalidOperationException("MapAsync and Parallel.For returned different results.");
        }

        int iterations = Arithmetic.IterationsFor(MicrosecondsPerItem);
        _inputs = Arithmetic.Inputs(LoopMicroseconds / MicrosecondsPerItem, iterations);
        Console.WriteLine($"// calibration: {iterations:N0} iterations for ~{MicrosecondsPerItem} µs per item, {_inputs.Length:N0} items");

        long[] expected = PlainMap.Sequential(_inputs);
        if (!(await _pool.MapAsync(_inputs, Arithmetic.Mix)).SequenceEqual(expected) || !PlainMap.ParallelFor(_inputs).SequenceEqual(expected)
            || !PlainMap.ParallelForEach(_inputs).SequenceEqual(expected))
        {
            throw new InvalidOperationException("The four ways of mapping returned different results.");
        }
    }

    [GlobalCleanup]
    public Task StopAsync() => _pool.CloseAsync();

    [Benchmark(Baseline = true, Description = "sequential loop")]
    public long[] Sequential() => PlainMap.Sequential(_inputs);

    [Benchmark(Description = "Parallel.For")]
    public long[] ParallelFor() => PlainMap.ParallelFor(_inputs);

    [Benchmark(Description = "Parallel.ForEach (index ranges)")]
    public long[] ParallelForEach() => PlainMap.ParallelForEach(_inputs);

    [Benchmark(Description = "IsolatePool.MapAsync")]
    public Task<IReadOnlyList<long>> MapAsync() => _pool.MapAsync(_inputs, Arithmetic.Mix);
}
