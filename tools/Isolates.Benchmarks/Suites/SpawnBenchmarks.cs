using BenchmarkDotNet.Attributes;
using Isolates.Benchmarks.Floors;
using Isolates.Benchmarks.Targets;

namespace Isolates.Benchmarks.Suites;

/// <summary>
/// Spawn: <c>Isolate.CreateAsync</c> plus the first call of a trivial method, beside the bare floor. One spawn per
/// iteration, so closing (and the unload it starts) runs in the iteration cleanup, outside the measurement.
/// </summary>
[MemoryDiagnoser]
[InvocationCount(1)]
public class SpawnBenchmarks
{
    private Isolate? _isolate;
    private BareIsolate? _bare;

    [Benchmark(Baseline = true, Description = "floor: ALC + load + thread + reflective call")]
    public async Task<int> FloorSpawn()
    {
        _bare = BareIsolate.Start();
        return await _bare.RunAsync(Reflective.Answer);
    }

    [Benchmark(Description = "CreateAsync + first CallAsync(Answer)")]
    public async Task<int> IsolateSpawn()
    {
        _isolate = await Isolate.CreateAsync();
        return await _isolate.CallAsync(Workload.Answer);
    }

    [IterationCleanup]
    public void Close() => Closing.CloseAll(ref _isolate, ref _bare);
}
