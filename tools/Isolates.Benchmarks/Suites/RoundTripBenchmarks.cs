using BenchmarkDotNet.Attributes;
using Isolates.Benchmarks.Floors;
using Isolates.Benchmarks.Targets;

namespace Isolates.Benchmarks.Suites;

/// <summary>
/// One awaited call on a running isolate, beside two floors: a synchronous semaphore ping-pong and an async channel
/// worker. Each invocation makes <see cref="Calls"/> calls in a loop and awaits each one, as callers do: returning
/// the task to BenchmarkDotNet instead would block on it, which skips the thread-pool hop an await costs.
/// </summary>
[MemoryDiagnoser]
public class RoundTripBenchmarks
{
    private const int Calls = 1_000;

    private Isolate _isolate = null!;
    private SemaphorePingPong _pingPong = null!;
    private ChannelWorker _worker = null!;

    [GlobalSetup]
    public async Task StartAsync()
    {
        _isolate = await Isolate.CreateAsync();
        _pingPong = new SemaphorePingPong();
        _worker = new ChannelWorker();
    }

    [GlobalCleanup]
    public async Task StopAsync()
    {
        await _isolate.CloseAsync();
        _pingPong.Dispose();
        _worker.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Calls, Description = "floor: SemaphoreSlim ping-pong")]
    public int FloorPingPong()
    {
        int sum = 0;
        for (int i = 0; i < Calls; i++)
        {
            sum += _pingPong.RoundTrip(i);
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Calls, Description = "floor: Channel + TCS worker, awaited")]
    public async Task<int> FloorChannel()
    {
        int sum = 0;
        for (int i = 0; i < Calls; i++)
        {
            sum += await _worker.CallAsync(i);
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Calls, Description = "await CallAsync(Identity, int)")]
    public async Task<int> IsolateCall()
    {
        int sum = 0;
        for (int i = 0; i < Calls; i++)
        {
            sum += await _isolate.CallAsync(Workload.Identity, i);
        }

        return sum;
    }
}
