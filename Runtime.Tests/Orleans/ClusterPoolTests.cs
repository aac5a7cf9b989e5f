using System.Diagnostics;
using Isolates.Orleans;
using Isolates.Tests.Diagnostics;
using Isolates.Tests.Support;
using Microsoft.Extensions.Hosting;
using Orleans;
using Orleans.Hosting;
using Orleans.TestingHost;

namespace Isolates.Tests.Orleans;

/// <summary>Cluster maps on one shared 3-silo in-process cluster (each silo: pool "work" of 2 isolates).</summary>
[TestFixture]
[NonParallelizable]
[CancelAfter(120_000)]
public class ClusterPoolTests
{
    private InProcessTestCluster _cluster = null!;

    [OneTimeSetUp]
    public async Task StartCluster() => _cluster = await ClusterFixture.StartAsync(3, TimeSpan.FromSeconds(5));

    [OneTimeTearDown]
    public async Task StopCluster() => await _cluster.DisposeAsync();

    private IClusterIsolatePool Pool(ClusterIsolatePoolOptions? options = null) =>
        options is null ? _cluster.Client.GetIsolatePool(ClusterFixture.PoolName) : _cluster.Client.GetIsolatePool(ClusterFixture.PoolName, options);

    [Test]
    public async Task MapAsync_ThreeSilos_ResultsInInputOrderAndEverySiloTakesWork()
    {
        long[] before = ClusterFixture.ChunksServed(_cluster);
        int[] items = [.. Enumerable.Range(0, 3_000)];

        IReadOnlyList<int> squares = await Wait.Bounded(Pool().MapAsync(items, PoolWork.Square));

        Assert.That(squares, Is.EqualTo(items.Select(i => i * i)));
        long[] after = ClusterFixture.ChunksServed(_cluster);
        Assert.That(after.Zip(before, (a, b) => a - b), Has.All.GreaterThan(0), "every silo ran chunks of the map");
    }

    [Test]
    public async Task MapAsync_RecordsAndAsyncFunction_CrossAsIsolatesBytes()
    {
        Point[] points = [.. Enumerable.Range(0, 50).Select(i => new Point(i, -i))];

        IReadOnlyList<Point> doubled = await Wait.Bounded(Pool().MapAsync(points, PoolWork.Double));
        IReadOnlyList<string> described = await Wait.Bounded(Pool().MapAsync(points, PoolWork.DescribeAsync));

        Assert.That(doubled, Is.EqualTo(points.Select(p => new Point(p.X * 2, p.Y * 2))));
        Assert.That(described.Select(d => d[..d.IndexOf('@', StringComparison.Ordinal)]), Is.EqualTo(points.Select(p => $"{p.X},{p.Y}")));
        Assert.That(described.Select(d => d[(d.IndexOf('@', StringComparison.Ordinal) + 1)..]), Has.All.StartWith(ClusterFixture.PoolName + "-"), "ran in the silos' pool isolates");
    }

    [Test]
    public async Task MapAsync_AsyncSource_ResultsInInputOrder()
    {
        IReadOnlyList<int> squares = await Wait.Bounded(Pool().MapAsync(Numbers(500), PoolWork.Square));

        Assert.That(squares, Is.EqualTo(Enumerable.Range(0, 500).Select(i => i * i)));
    }

    [Test]
    public void MapAsync_FailingItem_FailsTheMapWithItsIndex()
    {
        var ex = Assert.ThrowsAsync<IsolateExecutionException>(() => Wait.Bounded(Pool().MapAsync(Enumerable.Range(0, 200), PoolWork.FailOn13)));

        Assert.That(ex!.ItemIndex, Is.EqualTo(13));
        Assert.That(ex.Is<ArgumentException>(), Is.True);
        Assert.That(ex.Message, Does.Contain("unlucky 13"));
    }

    [Test]
    public async Task MapUnorderedAsync_List_YieldsEveryResultOnce()
    {
        var results = new List<int>();
        await foreach (int r in Pool().MapUnorderedAsync(Enumerable.Range(0, 1_000), PoolWork.Square).WithCancellation(new CancellationTokenSource(Wait.Timeout).Token))
        {
            results.Add(r);
        }

        Assert.That(results.Order(), Is.EqualTo(Enumerable.Range(0, 1_000).Select(i => i * i)));
    }

    [Test]
    public async Task MapUnorderedAsync_AsyncSource_ReadsOnlyAsChunksAreSent()
    {
        var read = new StrongBox<int>();
        IClusterIsolatePool pool = Pool(new ClusterIsolatePoolOptions { ChunkSize = 4 });

        await foreach (int r in pool.MapUnorderedAsync(Counted(100_000, read), PoolWork.Square).WithCancellation(new CancellationTokenSource(Wait.Timeout).Token))
        {
            break; // the consumer stops after one result
        }

        Assert.That(read.Value, Is.LessThan(1_000), "the source is read as chunks go out (3 silos x 2 chunks x 4 items in flight), not ahead");
    }

    [Test]
    public async Task SubmitAsync_OneInput_ReturnsTheFunctionsResult()
    {
        Assert.That(await Wait.Bounded(Pool().SubmitAsync(PoolWork.Square, 12)), Is.EqualTo(144));
        Assert.That(await Wait.Bounded(Pool().SubmitAsync(PoolWork.DescribeAsync, new Point(1, 2))), Does.StartWith("1,2@"));
        var ex = Assert.ThrowsAsync<IsolateExecutionException>(() => Wait.Bounded(Pool().SubmitAsync(PoolWork.FailOn13, 13)));
        Assert.That(ex!.ItemIndex, Is.Null, "a submitted call is no map item");
    }

    [Test]
    public async Task MapAsync_Cancelled_CancelsTheChunksOnEverySilo()
    {
        // 100 items of 50 ms per chunk on 2 isolates: each chunk runs ~2.5 s unless cancellation reaches its silo.
        IClusterIsolatePool pool = Pool(new ClusterIsolatePoolOptions { ChunkSize = 100 });
        using var cancel = new CancellationTokenSource();
        Task<IReadOnlyList<int>> map = pool.MapAsync(Enumerable.Repeat(50, 2_000), ClusterWork.Sleep, cancel.Token);
        InProcessSiloHandle[] silos = [.. _cluster.Silos.Where(s => s.IsActive)];
        await Poll.Until(() => silos.All(s => ClusterFixture.PoolsOf(s).RunningChunks > 0), "a chunk running on every silo");

        var stopwatch = Stopwatch.StartNew();
        await cancel.CancelAsync();

        Assert.That(async () => await Wait.Bounded(map), Throws.InstanceOf<OperationCanceledException>());
        await Poll.Until(() => silos.All(s => ClusterFixture.PoolsOf(s).RunningChunks == 0), "every silo's chunks cancelled", TimeSpan.FromSeconds(5));
        Assert.That(stopwatch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(2)), "the silos stopped their chunks before the chunks could have finished");
    }

    [Test]
    public async Task MapAsync_TraceContext_CrossesToTheSilosIsolates()
    {
        using var source = new ActivitySource("Isolates.Tests.ClusterTrace");
        using var listener = new ActivityListener
        {
            ShouldListenTo = _ => true,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        using Activity request = source.StartActivity("request")!;

        IReadOnlyList<string?> traces = await Wait.Bounded(Pool().MapAsync(Enumerable.Range(0, 30), TelemetryWork.TraceIdOfItem));

        Assert.That(traces, Has.All.EqualTo(request.TraceId.ToHexString()));
    }

    [Test]
    public void GetIsolatePool_InvalidArguments_ThrowClearly()
    {
        Assert.Throws<ArgumentNullException>(() => ((IGrainFactory)null!).GetIsolatePool("x"));
        Assert.Throws<ArgumentException>(() => _cluster.Client.GetIsolatePool(" "));
        Assert.Throws<ArgumentNullException>(() => _cluster.Client.GetIsolatePool("x", null!));
        Assert.That(() => _cluster.Client.GetIsolatePool("x", new ClusterIsolatePoolOptions { ChunksInFlightPerSilo = 0 }),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("ChunksInFlightPerSilo"));
        Assert.That(() => _cluster.Client.GetIsolatePool("x", new ClusterIsolatePoolOptions { ChunkSize = -1 }),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("ChunkSize"));
        Assert.That(() => _cluster.Client.GetIsolatePool("x", new ClusterIsolatePoolOptions { OnSiloLost = (SiloLossBehavior)7 }),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("OnSiloLost"));
    }

    [Test]
    public void AddIsolatePool_InvalidArguments_ThrowClearly()
    {
        HostApplicationBuilder host = Host.CreateApplicationBuilder();
        host.UseOrleans(silo =>
        {
            Assert.Throws<ArgumentException>(() => silo.AddIsolatePool(" ", 2));
            Assert.Throws<ArgumentOutOfRangeException>(() => silo.AddIsolatePool("p", -1));
            Assert.Throws<ArgumentNullException>(() => silo.AddIsolatePool("p", null!));
            Assert.That(() => silo.AddIsolatePool("p", new IsolatePoolOptions { MaxQueuedItems = 0 }),
                Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("MaxQueuedItems"));
            silo.AddIsolatePool("p", 1);
            Assert.That(() => silo.AddIsolatePool("p", 2), Throws.InvalidOperationException.With.Message.Contains("'p' is already added"));
        });
    }

    [Test]
    public void MapAsync_InvalidFunctionOrItems_ThrowsLikeALocalPool()
    {
        int offset = 3;
        Assert.Throws<ArgumentNullException>(() => Pool().MapAsync((IEnumerable<int>)null!, PoolWork.Square));
        Assert.Throws<ArgumentNullException>(() => Pool().MapAsync(new[] { 1 }, (Func<int, int>)null!));
        Assert.Throws<NotShareableException>(() => Pool().MapAsync(new[] { 1 }, x => x + offset), "a closure is refused as by IsolatePool");
        Assert.Throws<ArgumentNullException>(() => Pool().SubmitAsync((Func<int, int>)null!, 1));
    }

    [Test]
    public void MapAsync_NoSiloRunsThePool_ThrowsClusterPoolUnavailable()
    {
        var ex = Assert.ThrowsAsync<ClusterPoolUnavailableException>(() => Wait.Bounded(_cluster.Client.GetIsolatePool("nobody-runs-this").MapAsync(new[] { 1 }, PoolWork.Square)));

        Assert.That(ex!.Message, Does.Contain("AddIsolatePool(\"nobody-runs-this\""));
    }

    private static async IAsyncEnumerable<int> Numbers(int count)
    {
        for (int i = 0; i < count; i++)
        {
            if (i % 50 == 0)
            {
                await Task.Yield();
            }

            yield return i;
        }
    }

    private static async IAsyncEnumerable<int> Counted(int count, StrongBox<int> read)
    {
        for (int i = 0; i < count; i++)
        {
            await Task.Yield();
            Interlocked.Increment(ref read.Value);
            yield return i;
        }
    }

    private sealed class StrongBox<T>
    {
        public T Value = default!;
    }
}
