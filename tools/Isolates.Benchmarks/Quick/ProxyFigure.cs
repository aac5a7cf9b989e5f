using System.Diagnostics;
using Isolates.Benchmarks.Targets;

namespace Isolates.Benchmarks.Quick;

/// <summary>
/// Proxy call round trip: one awaited <c>IEcho.EchoAsync(int)</c> on an object living in a running isolate, one at a time,
/// beside <c>CallAsync(Identity, int)</c> on the same isolate in alternating blocks (the floor column), so the ratio is
/// what a proxy call costs over the call it rides (target: within 1.2x).
/// </summary>
internal static class ProxyFigure
{
    public static async Task<IReadOnlyList<Row>> MeasureAsync(int count)
    {
        int block = Math.Min(1_000, count);
        int rounds = Math.Max(1, count / block);
        Samples proxyCalls = Samples.Microseconds(count), calls = Samples.Microseconds(count);
        double allocated, callAllocated;
        Isolate isolate = await Isolate.CreateAsync();
        try
        {
            IEcho echo = await isolate.CreateObjectAsync<IEcho, Echo>();
            for (int round = -1; round < rounds; round++) // round -1 warms up
            {
                bool recorded = round >= 0;
                for (int i = 0; i < block; i++)
                {
                    long start = Stopwatch.GetTimestamp();
                    int echoed = await echo.EchoAsync(i);
                    long end = Stopwatch.GetTimestamp();
                    Check.Equal(i, echoed);
                    if (recorded)
                    {
                        proxyCalls.Add(start, end);
                    }
                }

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
            }

            allocated = await RoundTripFigure.AllocatedPerCallAsync(block, echo.EchoAsync);
            callAllocated = await RoundTripFigure.AllocatedPerCallAsync(block, i => isolate.CallAsync(Workload.Identity, i));
        }
        finally
        {
            await isolate.CloseAsync();
        }

        return
        [
            new Row("proxy call round trip: await proxy.EchoAsync(int), object in a running isolate", "µs", proxyCalls.Summarize(),
                "await CallAsync(Identity, int) on the same isolate, same run", calls.Summarize()),
            new Row("proxy call round trip: managed bytes allocated per call (all threads)", "B", Summary.Single(allocated, count),
                "the same CallAsync(Identity, int)", Summary.Single(callAllocated, count)),
        ];
    }
}
