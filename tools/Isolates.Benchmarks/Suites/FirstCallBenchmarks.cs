using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Isolates.Benchmarks.Floors;
using Isolates.Benchmarks.Targets;

namespace Isolates.Benchmarks.Suites;

/// <summary>
/// The first call in a fresh isolate, with a user record and with an int, each beside its bare floor. The isolate
/// (or bare context and thread) is made in the iteration setup, so only the call is measured.
/// </summary>
[MemoryDiagnoser]
[InvocationCount(1)]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class FirstCallBenchmarks
{
    private static readonly Point Input = new(3, 4);
    private Isolate? _isolate;
    private BareIsolate? _bare;

    [IterationSetup(Targets = new[] { nameof(IsolateRecord), nameof(IsolateInt) })]
    public void CreateIsolate() => _isolate = Isolate.CreateAsync().GetAwaiter().GetResult();

    [IterationSetup(Targets = new[] { nameof(FloorRecord), nameof(FloorInt) })]
    public void StartBare()
    {
        _bare = BareIsolate.Start();
        _bare.RunAsync(static _ => 0).GetAwaiter().GetResult(); // the thread is up, as after CreateAsync
    }

    [Benchmark(Baseline = true, Description = "floor: reflective rebuild + call")]
    [BenchmarkCategory("record")]
    public Task<Point> FloorRecord() => _bare!.RunAsync(static assembly => Reflective.Scale(assembly, Input, 2));

    [Benchmark(Description = "CallAsync(Scale, Point, int)")]
    [BenchmarkCategory("record")]
    public Task<Point> IsolateRecord() => _isolate!.CallAsync(Workload.Scale, Input, 2);

    [Benchmark(Baseline = true, Description = "floor: reflective call")]
    [BenchmarkCategory("int")]
    public Task<int> FloorInt() => _bare!.RunAsync(static assembly => Reflective.Identity(assembly, 7));

    [Benchmark(Description = "CallAsync(Identity, int)")]
    [BenchmarkCategory("int")]
    public Task<int> IsolateInt() => _isolate!.CallAsync(Workload.Identity, 7);

    [IterationCleanup]
    public void Close() => Closing.CloseAll(ref _isolate, ref _bare);
}
