using System.Diagnostics;
using Isolates.Benchmarks.Floors;
using Isolates.Benchmarks.Targets;

namespace Isolates.Benchmarks.Quick;

/// <summary>
/// Parallel map: <c>IsolatePool.MapAsync</c> over CPU-bound items beside the plain loop, <c>Parallel.For</c> and
/// <c>Parallel.ForEach</c> (over index ranges) on the same inputs, once with items of about 1 ms (is every core
/// used?) and once with items of about 10 µs (what does each item cost beyond its work?). Each repetition runs the four ways once, in a rotating order, so drift on a
/// noisy machine hits them alike, and checks that all four returned the same results in the same order.
/// </summary>
internal static class MapFigure
{
    private const double SlowMicroseconds = 1_000;
    private const double FastMicroseconds = 10;

    public static async Task<IReadOnlyList<Row>> MeasureAsync(int slowItems, int fastItems, int repetitions, ICollection<string> notes)
    {
        int cores = Environment.ProcessorCount;
        IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions { Size = cores, Name = "map" });
        Run slow, fast;
        int slowIterations, fastIterations;
        try
        {
            // A small map first, so the compilations it causes are over before the calibration.
            long[] small = Arithmetic.Inputs(64, 1_000);
            Check.Equal(true, (await pool.MapAsync(small, Arithmetic.Mix)).SequenceEqual(PlainMap.Sequential(small)));
            slowIterations = Arithmetic.IterationsFor(SlowMicroseconds);
            fastIterations = Arithmetic.IterationsFor(FastMicroseconds);
            slow = await MeasureAsync(pool, Arithmetic.Inputs(slowItems, slowIterations), repetitions);
            fast = await MeasureAsync(pool, Arithmetic.Inputs(fastItems, fastIterations), repetitions);
        }
        finally
        {
            await pool.CloseAsync();
        }

        Collector.Quiesce();
        notes.Add($"map: {pool.Size} isolates on {cores} cores; the loop was calibrated to {slowIterations:N0} iterations for ~1 ms " +
            $"and {fastIterations:N0} for ~10 µs; the sequential loop then took {slow.LoopPerItemMicroseconds:N1} µs and " +
            $"{fast.LoopPerItemMicroseconds:N2} µs per item (medians of {repetitions} repetitions).");
        if (slow.OtherCores is { } slowOthers && fast.OtherCores is { } fastOthers)
        {
            bool busy = Math.Max(slowOthers, fastOthers) >= 0.1;
            notes.Add($"map: other processes kept {slowOthers:N2} (~1 ms items) and {fastOthers:N2} (~10 µs items) of the {cores} cores busy " +
                $"on average while the map figures ran{(busy ? "; these figures need every core, so in this run they understate MapAsync and Parallel.For alike" : string.Empty)}.");
        }

        string slowName = $"map, ~1 ms items ({slowItems:N0})";
        string fastName = $"map, ~10 µs items ({fastItems:N0})";
        Summary slowMap = slow.Map.Summarize(), fastMap = fast.Map.Summarize();
        return
        [
            new Row($"{slowName}: MapAsync on {cores} isolates, wall time", "ms", slowMap,
                "sequential loop on one thread, same inputs", slow.Loop.Summarize()),
            new Row($"{slowName}: (same samples)", "ms", slowMap,
                "Parallel.For over the same inputs", slow.Parallel.Summarize()),
            new Row($"{slowName}: (same samples)", "ms", slowMap,
                "Parallel.ForEach over index ranges (Partitioner.Create)", slow.ForEach.Summarize()),
            new Row($"{slowName}: speedup over the sequential loop", "x", slow.MapSpeedup.Summarize(higherIsBetter: true),
                "Parallel.For's speedup over the same loop", slow.ParallelSpeedup.Summarize(higherIsBetter: true)),
            new Row($"{slowName}: speedup over the sequential loop (same samples)", "x", slow.MapSpeedup.Summarize(higherIsBetter: true),
                "Parallel.ForEach's (index ranges) speedup over the same loop", slow.ForEachSpeedup.Summarize(higherIsBetter: true)),
            new Row($"{fastName}: MapAsync on {cores} isolates, wall time", "ms", fastMap,
                "sequential loop on one thread, same inputs", fast.Loop.Summarize()),
            new Row($"{fastName}: (same samples)", "ms", fastMap,
                "Parallel.For over the same inputs", fast.Parallel.Summarize()),
            new Row($"{fastName}: (same samples)", "ms", fastMap,
                "Parallel.ForEach over index ranges (Partitioner.Create)", fast.ForEach.Summarize()),
            new Row($"{fastName}: speedup over the sequential loop", "x", fast.MapSpeedup.Summarize(higherIsBetter: true),
                "Parallel.For's speedup over the same loop", fast.ParallelSpeedup.Summarize(higherIsBetter: true)),
            new Row($"{fastName}: speedup over the sequential loop (same samples)", "x", fast.MapSpeedup.Summarize(higherIsBetter: true),
                "Parallel.ForEach's (index ranges) speedup over the same loop", fast.ForEachSpeedup.Summarize(higherIsBetter: true)),
            new Row($"{fastName}: overhead per item, (wall × {cores} − loop) / items", "µs", fast.MapOverhead.Summarize(),
                "Parallel.For's, by the same formula", fast.ParallelOverhead.Summarize(), HasRatio: false),
            new Row($"{fastName}: overhead per item, (CPU − loop CPU) / items", "µs", fast.MapCpuOverhead.Summarize(),
                "Parallel.For's, by the same formula", fast.ParallelCpuOverhead.Summarize(), HasRatio: false),
        ];
    }

    private static async Task<Run> MeasureAsync(IsolatePool pool, long[] inputs, int repetitions)
    {
        var run = new Run(repetitions);
        OtherLoad? otherLoad = OtherLoad.Start();
        long[] expected = PlainMap.Sequential(inputs);
        string[] names = ["the sequential loop", "MapAsync", "Parallel.For", "Parallel.ForEach"];
        Func<IsolatePool, long[], Task<IReadOnlyList<long>>>[] ways =
        [
            static (_, inputs) => Task.FromResult<IReadOnlyList<long>>(PlainMap.Sequential(inputs)),
            static (pool, inputs) => pool.MapAsync(inputs, Arithmetic.Mix),
            static (_, inputs) => Task.FromResult<IReadOnlyList<long>>(PlainMap.ParallelFor(inputs)),
            static (_, inputs) => Task.FromResult<IReadOnlyList<long>>(PlainMap.ParallelForEach(inputs)),
        ];

        // Repetition -1 warms up: each isolate maps and compiles Mix, the thread pool grows, the host's loops tier up.
        for (int repetition = -1; repetition < repetitions; repetition++)
        {
            var times = new double[ways.Length];
            var cpu = new double[ways.Length];
            for (int k = 0; k < ways.Length; k++)
            {
                int way = (k + repetition + 1) % ways.Length; // rotate which way goes first
                Collector.Quiesce(); // no way pays for another's garbage
                TimeSpan cpuStart = Environment.CpuUsage.TotalTime;
                long start = Stopwatch.GetTimestamp();
                IReadOnlyList<long> results = await ways[way](pool, inputs);
                long end = Stopwatch.GetTimestamp();
                TimeSpan cpuEnd = Environment.CpuUsage.TotalTime;
                if (!results.SequenceEqual(expected))
                {
                    throw new InvalidOperationException($"{names[way]} returned different results from the reference loop.");
                }

                times[way] = (end - start) * 1e3 / Stopwatch.Frequency;
                cpu[way] = (cpuEnd - cpuStart).TotalMilliseconds;
            }

            if (repetition >= 0)
            {
                run.Record(times, cpu, inputs.Length, Environment.ProcessorCount);
            }
        }

        run.OtherCores = otherLoad?.Cores();
        return run;
    }

    /// <summary>The samples of one workload: the four wall times (ms) and what each repetition derives from them.</summary>
    private sealed class Run(int repetitions)
    {
        private readonly List<double> _loopPerItem = new(repetitions);

        /// <summary>How many cores other processes kept busy on average while this workload ran (null if unknown).</summary>
        public double? OtherCores { get; set; }

        public Samples Loop { get; } = Samples.Values(repetitions);

        public Samples Map { get; } = Samples.Values(repetitions);

        public Samples Parallel { get; } = Samples.Values(repetitions);

        public Samples ForEach { get; } = Samples.Values(repetitions);

        public Samples ForEachSpeedup { get; } = Samples.Values(repetitions);

        public Samples MapSpeedup { get; } = Samples.Values(repetitions);

        public Samples ParallelSpeedup { get; } = Samples.Values(repetitions);

        public Samples MapOverhead { get; } = Samples.Values(repetitions);

        public Samples ParallelOverhead { get; } = Samples.Values(repetitions);

        public double LoopPerItemMicroseconds
        {
            get
            {
                double[] sorted = [.. _loopPerItem];
                Array.Sort(sorted);
                return sorted.Length == 0 ? double.NaN : sorted[(sorted.Length - 1) / 2];
            }
        }

        public Samples MapCpuOverhead { get; } = Samples.Values(repetitions);

        public Samples ParallelCpuOverhead { get; } = Samples.Values(repetitions);

        /// <summary>
        /// One repetition: wall and process CPU times (ms) of the loop, MapAsync, Parallel.For and Parallel.ForEach, in that order.
        /// Overhead per item, in µs: the time the way spent beyond the work, shared among the items, counted two ways.
        /// From wall time, (wall × cores − loop wall) / items, as if every core were busy for the whole wall time: it
        /// includes cores left idle, and also time other processes took from this one. From CPU time, (process CPU −
        /// loop CPU) / items: only CPU this process spent, whatever else the machine was doing.
        /// </summary>
        public void Record(double[] wall, double[] cpu, int items, int cores)
        {
            (double loop, double map, double parallel) = (wall[0], wall[1], wall[2]);
            Loop.AddValue(loop);
            Map.AddValue(map);
            Parallel.AddValue(parallel);
            MapSpeedup.AddValue(loop / map);
            ParallelSpeedup.AddValue(loop / parallel);
            ForEach.AddValue(wall[3]);
            ForEachSpeedup.AddValue(loop / wall[3]);
            MapOverhead.AddValue(((map * cores) - loop) * 1e3 / items);
            ParallelOverhead.AddValue(((parallel * cores) - loop) * 1e3 / items);
            MapCpuOverhead.AddValue((cpu[1] - cpu[0]) * 1e3 / items);
            ParallelCpuOverhead.AddValue((cpu[2] - cpu[0]) * 1e3 / items);
            _loopPerItem.Add(loop * 1e3 / items);
        }
    }
}
