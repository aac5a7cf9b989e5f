using BenchmarkDotNet.Attributes;
using Isolates.Benchmarks.Floors;
using Isolates.Benchmarks.Targets;

namespace Isolates.Benchmarks.Suites;

/// <summary>One awaited call on a running isolate, beside two floors: a synchronous semaphore ping-pong and an async channel worker.</summary>
[MemoryDiagnoser]
public class RoundTripBenchmarks
{
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

    [Benchmark(Baseline = true, Description = "floor: SemaphoreSlim ping-pong")]
    public int FloorPingPong() => _pingPong.RoundTrip(1);

    [Benchmark(Description = "floor: Channel + TCS worker")]
    public Task<int> FloorChannel() => _worker.CallAsync(1);

    [Benchmark(Description = "CallAsync(Identity, int)")]
    public Task<int> IsolateCall() => _isolate.CallAsync(Workload.Identity, 1);
}
