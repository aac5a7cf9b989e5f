using BenchmarkDotNet.Attributes;
using Isolates.Benchmarks.Floors;
using Isolates.Benchmarks.Targets;

namespace Isolates.Benchmarks.Suites;

/// <summary>
/// Bringing up <see cref="Count"/> idle isolates (each after one call) beside as many bare contexts with a blocked
/// thread. BenchmarkDotNet reports the time and the managed allocations; the resident and managed growth per
/// isolate, which no diagnoser measures, is printed by the iteration cleanup (look for "// growth" in the log).
/// </summary>
[MemoryDiagnoser]
[InvocationCount(1)]
[IterationCount(5)]
[WarmupCount(1)]
public class MemoryBenchmarks
{
    private readonly List<Isolate> _isolates = [];
    private readonly List<BareIsolate> _bares = [];
    private ProcessMemory _before;

    [Params(1_000)]
    public int Count { get; set; }

    [IterationSetup]
    public void Measure() => _before = ProcessMemory.Settle();

    [Benchmark(Baseline = true, Description = "floor: ALCs + load + blocked threads")]
    public async Task FloorIdleContexts()
    {
        for (int i = 0; i < Count; i++)
        {
            BareIsolate bare = BareIsolate.Start();
            await bare.RunAsync(Reflective.Answer);
            _bares.Add(bare);
        }
    }

    [Benchmark(Description = "idle isolates (CreateAsync + one call)")]
    public async Task IdleIsolates()
    {
        for (int i = 0; i < Count; i++)
        {
            Isolate isolate = await Isolate.CreateAsync();
            await isolate.CallAsync(Workload.Answer);
            _isolates.Add(isolate);
        }
    }

    [IterationCleanup]
    public void Close()
    {
        ProcessMemory growth = ProcessMemory.Settle().Since(_before);
        string what = _isolates.Count > 0 ? "isolate" : "bare context";
        Console.WriteLine($"// growth per {what}: RSS {growth.ResidentBytes / 1024.0 / Count:N1} KiB, managed heap {growth.ManagedBytes / 1024.0 / Count:N1} KiB");

        Task.WhenAll(_isolates.Select(isolate => isolate.CloseAsync())).GetAwaiter().GetResult();
        _isolates.Clear();
        WeakReference[] contexts = [.. _bares.Select(bare => bare.Stop())];
        _bares.Clear();
        foreach (WeakReference context in contexts)
        {
            Collector.UntilCollected(context, TimeSpan.FromSeconds(5)); // the first collections free them all
        }

        Collector.Quiesce();
    }
}
