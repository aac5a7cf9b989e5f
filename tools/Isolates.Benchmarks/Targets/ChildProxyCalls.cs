using System.Diagnostics;

namespace Isolates.Benchmarks.Targets;

/// <summary>
/// Isolate code run inside a child-process isolate by the child-proxy figure: one block of proxy calls to an object of
/// the host (a host service, or an object in one of the host's in-process isolates), awaited one at a time and timed in
/// the child, where the caller is. The round trips come back in µs, so no clock is compared across processes.
/// </summary>
public static class ChildProxyCalls
{
    public static Task<double[]> EchoHostServiceAsync(int count) => TimeAsync(Isolate.Current!.GetHostService<IEcho>(), count);

    public static Task<double[]> EchoAsync(IEcho echo, int count) => TimeAsync(echo, count);

    private static async Task<double[]> TimeAsync(IEcho echo, int count)
    {
        var samples = new double[count];
        for (int i = 0; i < count; i++)
        {
            long start = Stopwatch.GetTimestamp();
            int echoed = await echo.EchoAsync(i);
            long end = Stopwatch.GetTimestamp();
            if (echoed != i)
            {
                throw new InvalidOperationException($"Expected {i} but the proxy call answered {echoed}.");
            }

            samples[i] = (end - start) * 1e6 / Stopwatch.Frequency;
        }

        return samples;
    }
}
