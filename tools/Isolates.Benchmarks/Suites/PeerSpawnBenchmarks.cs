using BenchmarkDotNet.Attributes;
using Isolates.Benchmarks.Peers;
using Isolates.Benchmarks.Targets;

namespace Isolates.Benchmarks.Suites;

/// <summary>
/// Spawn to first reply beside the in-process actor peers: <c>Isolate.CreateAsync</c> plus the first call, a new
/// Proto.Actor echo actor plus its first <c>RequestAsync</c>, a new Akka.NET echo actor plus its first <c>Ask</c>. One
/// spawn per iteration; closing the isolate (with its verified unload) and stopping the actors run in the iteration
/// cleanup, outside the measurement. An actor is an object in a shared heap; an isolate is a context with its own
/// copy of the user's assemblies and a thread of its own, which is what the difference pays for.
/// </summary>
[MemoryDiagnoser]
[InvocationCount(1)]
public class PeerSpawnBenchmarks
{
    private ProtoActorPeer _proto = null!;
    private AkkaPeer _akka = null!;
    private Isolate? _isolate;
    private Floors.BareIsolate? _none;

    [GlobalSetup]
    public void Start()
    {
        _proto = new ProtoActorPeer();
        _akka = new AkkaPeer();
    }

    [GlobalCleanup]
    public async Task StopAsync()
    {
        await _proto.DisposeAsync();
        await _akka.DisposeAsync();
    }

    [Benchmark(Baseline = true, Description = "CreateAsync + first CallAsync(Answer)")]
    public async Task<int> IsolateSpawn()
    {
        _isolate = await Isolate.CreateAsync();
        return await _isolate.CallAsync(Workload.Answer);
    }

    [Benchmark(Description = "Proto.Actor: Spawn + first RequestAsync")]
    public Task<int> ProtoSpawn() => _proto.SpawnAndRequestAsync(42);

    [Benchmark(Description = "Akka.NET: ActorOf + first Ask")]
    public Task<int> AkkaSpawn() => _akka.SpawnAndRequestAsync(42);

    [IterationCleanup]
    public void Close()
    {
        _proto.StopSpawnedAsync().GetAwaiter().GetResult();
        _akka.StopSpawnedAsync().GetAwaiter().GetResult();
        Closing.CloseAll(ref _isolate, ref _none);
    }
}
