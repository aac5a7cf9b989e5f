using System.Diagnostics;
using Isolates.Benchmarks.Floors;
using Isolates.Benchmarks.Targets;

namespace Isolates.Benchmarks.Quick;

/// <summary>
/// Round trip: one awaited <c>CallAsync(Identity, int)</c> on a running isolate, one at a time, each timed on its own.
/// Runs in blocks that alternate with both floors, so drift on a noisy machine hits all three alike.
/// </summary>
internal static class RoundTripFigure
{
    public static async Task<IReadOnlyList<Row>> MeasureAsync(int count)
    {
        int block = Math.Min(1_000, count);
        int rounds = Math.Max(1, count / block);
        Samples calls = Samples.Microseconds(count), pingPongs = Samples.Microseconds(count), channelCalls = Samples.Microseconds(count);

        double allocated, floorAllocated;
        Isolate isolate = await Isolate.CreateAsync();
        using var pingPong = new SemaphorePingPong();
        using var worker = new ChannelWorker();
        try
        {
            for (int round = -1; round < rounds; round++) // round -1 warms up
            {
                bool recorded = round >= 0;
                for (int i = 0; i < block; i++)
                {
                    long start = Stopwatch.GetTimestamp();
                    int echoed = await isolate.CallAsync(Workload.Identity, i);
                    long end = Stopwatch.GetTimestamp();
                    Check.Equal(i, echoed);
                    if (recorded)
                    {
                        calls.Add(start, end);
                    }
                }

                for (int i = 0; i < block; i++)
                {
                    long start = Stopwatch.GetTimestamp();
                    int echoed = pingPong.RoundTrip(i);
                    long end = Stopwatch.GetTimestamp();
                    Check.Equal(i, echoed);
                    if (recorded)
                    {
                        pingPongs.Add(start, end);
                    }
                }

                for (int i = 0; i < block; i++)
                {
                    long start = Stopwatch.GetTimestamp();
                    int echoed = await worker.CallAsync(i);
                    long end = Stopwatch.GetTimestamp();
                    Check.Equal(i, echoed);
                    if (recorded)
                    {
                        channelCalls.Add(start, end);
                    }
                }
            }

            allocated = await AllocatedPerCallAsync(block, i => isolate.CallAsync(Workload.Identity, i));
            floorAllocated = await AllocatedPerCallAsync(block, worker.CallAsync);
        }
        finally
        {
            await isolate.CloseAsync();
        }

        Summary isolateSummary = calls.Summarize();
        return
        [
            new Row("round trip: await CallAsync(Identity, int), running isolate", "µs", isolateSummary,
                "SemaphoreSlim ping-pong between two threads (synchronous)", pingPongs.Summarize()),
            new Row("round trip: (same samples)", "µs", isolateSummary,
                "Channel<(value, TCS)> drained by a dedicated thread, awaited", channelCalls.Summarize()),
            new Row("round trip: managed bytes allocated per call (all threads)", "B", Summary.Single(allocated, count),
                "the same Channel<(value, TCS)> worker", Summary.Single(floorAllocated, count)),
        ];
    }

    // Untimed: the process-wide allocation counter over a block of calls, divided by their number.
    internal static async Task<double> AllocatedPerCallAsync(int calls, Func<int, Task<int>> call)
    {
        long before = GC.GetTotalAllocatedBytes(precise: true);
        for (int i = 0; i < calls; i++)
        {
            Check.Equal(i, await call(i));
        }

        return (double)(GC.GetTotalAllocatedBytes(precise: true) - before) / calls;
    }
}
