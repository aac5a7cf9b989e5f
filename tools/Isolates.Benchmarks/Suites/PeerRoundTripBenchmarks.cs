using BenchmarkDotNet.Attributes;
using Isolates.Benchmarks.Peers;
using Isolates.Benchmarks.Targets;

namespace Isolates.Benchmarks.Suites;

/// <summary>
/// Request-response beside the in-process actor peers: one awaited call on a running isolate, one
/// <c>RequestAsync</c> to a Proto.Actor echo actor, one <c>Ask</c> to an Akka.NET echo actor (both with their default
/// dispatchers). Each invocation awaits <see cref="Calls"/> calls one at a time. The baseline is Isolates, so the
/// Ratio column is the peer's time over Isolates'. The actors pass the boxed int by reference; the isolate copies it.
/// </summary>
[MemoryDiagnoser]
public class PeerRoundTripBenchmarks
{
    private const int Calls = 1_000;

    private Isolate _isolate = null!;
    private ProtoActorPeer _proto = null!;
    private AkkaPeer _akka = null!;

    [GlobalSetup]
    public async Task StartAsync()
    {
        _isolate = await Isolate.CreateAsync();
        _proto = new ProtoActorPeer();
        _akka = new AkkaPeer();
    }

    [GlobalCleanup]
    public async Task StopAsync()
    {
        await _isolate.CloseAsync();
        await _proto.DisposeAsync();
        await _akka.DisposeAsync();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Calls, Description = "await CallAsync(Identity, int)")]
    public Task<int> IsolateCall() => LoopAsync(i => _isolate.CallAsync(Workload.Identity, i));

    [Benchmark(OperationsPerInvoke = Calls, Description = "Proto.Actor: await RequestAsync<int>")]
    public Task<int> ProtoRequest() => LoopAsync(_proto.RequestAsync);

    [Benchmark(OperationsPerInvoke = Calls, Description = "Akka.NET: await Ask<int>")]
    public Task<int> AkkaAsk() => LoopAsync(_akka.RequestAsync);

    private static async Task<int> LoopAsync(Func<int, Task<int>> call)
    {
        int sum = 0;
        for (int i = 0; i < Calls; i++)
        {
            sum += await call(i);
        }

        return sum;
    }
}
