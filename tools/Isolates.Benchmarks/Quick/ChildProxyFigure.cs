using Isolates.Benchmarks.Targets;

namespace Isolates.Benchmarks.Quick;

/// <summary>
/// Proxy calls from isolate code in a child-process isolate back to the host (<c>--only child-proxy</c>): one awaited
/// <c>IEcho.EchoAsync(int)</c> at a time, timed in the child, (a) on a host service and (b) on an object living in an
/// in-process isolate of the host, beside (c) the host's own <c>CallAsync(Identity, int)</c> on the same child (the
/// process figure's round trip, the floor), in alternating blocks. Each call crosses the pipe twice, as (c) does; the
/// ratio is what the host's side of a child's proxy call adds on top (decoding, the call made as its own proxy call,
/// the answer), and for (b) the hop to the object's isolate.
/// </summary>
internal static class ChildProxyFigure
{
    public static async Task<IReadOnlyList<Row>> MeasureAsync(int count)
    {
        int block = Math.Min(500, count);
        int rounds = Math.Max(1, count / block);
        Samples service = Samples.Microseconds(count), objectCalls = Samples.Microseconds(count), calls = Samples.Microseconds(count);
        double serviceAllocated, objectAllocated, callAllocated;
        var options = new IsolateOptions
        {
            Name = "bench child proxy",
            Placement = IsolatePlacement.ChildProcess,
            HostServices = new IsolateHostServices().Add<IEcho>(new Echo()),
        };
        Isolate child = await Isolate.CreateAsync(options);
        Isolate local = await Isolate.CreateAsync(new IsolateOptions { Name = "bench child proxy owner" });
        try
        {
            IEcho echo = await local.CreateObjectAsync<IEcho, Echo>();
            for (int round = -1; round < rounds; round++) // round -1 warms up (both sides compile their paths)
            {
                bool recorded = round >= 0;
                Record(recorded ? service : null, await child.CallAsync(ChildProxyCalls.EchoHostServiceAsync, block));
                Record(recorded ? objectCalls : null, await child.CallAsync(ChildProxyCalls.EchoAsync, echo, block));
                await ProcessFigure.TimeAsync(block, recorded ? calls : null, i => child.CallAsync(Workload.Identity, i));
            }

            serviceAllocated = await AllocatedPerCallAsync(block, () => child.CallAsync(ChildProxyCalls.EchoHostServiceAsync, block));
            objectAllocated = await AllocatedPerCallAsync(block, () => child.CallAsync(ChildProxyCalls.EchoAsync, echo, block));
            callAllocated = await RoundTripFigure.AllocatedPerCallAsync(block, i => child.CallAsync(Workload.Identity, i));
        }
        finally
        {
            await local.CloseAsync();
            await child.CloseAsync();
        }

        const string Floor = "host → child: await CallAsync(Identity, int) on the same child, same run (the process round trip)";
        Summary floor = calls.Summarize();
        return
        [
            new Row("child proxy call: await hostService.EchoAsync(int) in a child-process isolate, a host service", "µs", service.Summarize(), Floor, floor),
            new Row("child proxy call: await proxy.EchoAsync(int) in a child-process isolate, object in an in-process isolate of the host", "µs", objectCalls.Summarize(), Floor, floor),
            new Row("child proxy call: managed bytes allocated in the host per call (host service / object)", "B", Summary.Single(serviceAllocated, count),
                $"the same CallAsync(Identity, int); the object's calls: {objectAllocated:N0} B", Summary.Single(callAllocated, count)),
        ];
    }

    private static void Record(Samples? samples, double[] block)
    {
        foreach (double microseconds in block)
        {
            samples?.AddValue(microseconds);
        }
    }

    // Untimed: this process's allocations over one block of the child's calls, divided by their number.
    private static async Task<double> AllocatedPerCallAsync(int calls, Func<Task<double[]>> block)
    {
        long before = GC.GetTotalAllocatedBytes(precise: true);
        Check.Equal(calls, (await block()).Length);
        return (double)(GC.GetTotalAllocatedBytes(precise: true) - before) / calls;
    }
}
