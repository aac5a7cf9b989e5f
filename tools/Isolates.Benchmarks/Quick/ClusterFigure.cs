using System.Diagnostics;
using Isolates.Benchmarks.Floors;
using Isolates.Benchmarks.Targets;
using Isolates.Orleans;
using Orleans;
using Orleans.Hosting;
using Orleans.TestingHost;

namespace Isolates.Benchmarks.Quick;

/// <summary>
/// What scale-out costs: a map over an Orleans cluster pool (<c>Isolates.Orleans</c>: 2 silos on localhost, in this
/// process, talking over loopback TCP, each with half the cores' isolates) beside a local <c>IsolatePool</c> with as
/// many isolates in total, on the same ~10 µs items, in the same run; and the per-chunk cost of the hop, a one-item map
/// through the cluster beside a one-item map on the local pool. On one machine the cluster cannot be faster: the
/// figures say how large chunks must be for the hop to stay a small share (<see cref="ClusterIsolatePoolOptions.TargetChunkDuration"/>).
/// </summary>
internal static class ClusterFigure
{
    private const double ItemMicroseconds = 10;

    public static async Task<IReadOnlyList<Row>> MeasureAsync(bool ci, ICollection<string> notes)
    {
        int items = ci ? 2_000 : 10_000;
        int repetitions = ci ? 3 : 5;
        int hops = ci ? 200 : 1_000;
        int cores = Environment.ProcessorCount;
        int perSilo = Math.Max(1, cores / 2);

        var builder = new InProcessTestClusterBuilder(2);
        builder.ConfigureSilo((_, silo) => silo.AddIsolatePool("bench", new IsolatePoolOptions { Size = perSilo }));
        InProcessTestCluster cluster = builder.Build();
        IsolatePool local = await IsolatePool.CreateAsync(new IsolatePoolOptions { Size = perSilo * 2, Name = "local" });
        try
        {
            await cluster.DeployAsync();
            IClusterIsolatePool pool = cluster.Client.GetIsolatePool("bench");
            long[] inputs = Arithmetic.Inputs(items, Arithmetic.IterationsFor(ItemMicroseconds));
            long[] expected = PlainMap.Sequential(inputs);

            // Warm-up: every isolate on both sides compiles Mix, the silos' grains activate, both sides tier up.
            Check.Equal(true, (await pool.MapAsync(inputs, Arithmetic.Mix)).SequenceEqual(expected));
            Check.Equal(true, (await local.MapAsync(inputs, Arithmetic.Mix)).SequenceEqual(expected));

            Samples clusterMap = Samples.Milliseconds(repetitions), localMap = Samples.Milliseconds(repetitions);
            Samples clusterPerItem = Samples.Values(repetitions), localPerItem = Samples.Values(repetitions), overhead = Samples.Values(repetitions);
            for (int r = 0; r < repetitions; r++)
            {
                Collector.Quiesce();
                long start = Stopwatch.GetTimestamp();
                IReadOnlyList<long> viaCluster = await pool.MapAsync(inputs, Arithmetic.Mix);
                long middle = Stopwatch.GetTimestamp();
                Collector.Quiesce();
                long localStart = Stopwatch.GetTimestamp();
                IReadOnlyList<long> viaLocal = await local.MapAsync(inputs, Arithmetic.Mix);
                long end = Stopwatch.GetTimestamp();
                Check.Equal(true, viaCluster.SequenceEqual(expected) && viaLocal.SequenceEqual(expected));
                clusterMap.Add(start, middle);
                localMap.Add(localStart, end);
                double clusterUs = (middle - start) * 1e6 / Stopwatch.Frequency / items, localUs = (end - localStart) * 1e6 / Stopwatch.Frequency / items;
                clusterPerItem.AddValue(clusterUs);
                localPerItem.AddValue(localUs);
                overhead.AddValue(clusterUs - localUs);
            }

            Samples clusterHop = Samples.Microseconds(hops), localHop = Samples.Microseconds(hops);
            long[] one = [inputs[0]];
            for (int i = -hops / 10; i < hops; i++)
            {
                long a = Stopwatch.GetTimestamp();
                await pool.MapAsync(one, Arithmetic.Mix);
                long b = Stopwatch.GetTimestamp();
                await local.MapAsync(one, Arithmetic.Mix);
                long c = Stopwatch.GetTimestamp();
                if (i >= 0)
                {
                    clusterHop.Add(a, b);
                    localHop.Add(b, c);
                }
            }

            notes.Add($"cluster: 2 silos in this process on loopback TCP (Orleans InProcessTestCluster), {perSilo} isolates each, against a local IsolatePool of {perSilo * 2}; " +
                $"{items:N0} items of ~{ItemMicroseconds} µs, automatic chunk sizes (TargetChunkDuration {new ClusterIsolatePoolOptions().TargetChunkDuration.TotalMilliseconds} ms); " +
                $"{repetitions} repetitions of the map, {hops:N0} one-item maps for the hop. The silos, the client and the local pool share the machine's {cores} cores.");
            string name = $"cluster map, ~10 µs items ({items:N0})";
            return
            [
                new Row($"{name}: 2 silos x {perSilo} isolates, wall time", "ms", clusterMap.Summarize(), $"IsolatePool.MapAsync, {perSilo * 2} isolates, same inputs", localMap.Summarize()),
                new Row($"{name}: wall time per item", "µs", clusterPerItem.Summarize(), "IsolatePool.MapAsync's", localPerItem.Summarize()),
                new Row($"{name}: overhead per item over the local pool", "µs", overhead.Summarize(), "-", Summary.Single(double.NaN, 0), HasRatio: false),
                new Row("cluster hop: one-item map through a silo, round trip", "µs", clusterHop.Summarize(), "one-item IsolatePool.MapAsync", localHop.Summarize()),
            ];
        }
        finally
        {
            await local.CloseAsync();
            await cluster.DisposeAsync();
        }
    }
}
