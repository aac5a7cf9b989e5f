using System.Diagnostics;
using Isolates.Orleans;
using Isolates.Tests.Diagnostics;
using Isolates.Tests.Support;
using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.TestingHost;

namespace Isolates.Tests.Orleans;

/// <summary>
/// Silos leaving and joining while a map runs, on one in-process cluster whose silos cut running work short when they
/// stop (pool DisposeTimeout zero). Each test first brings the cluster back to three active silos.
/// </summary>
[TestFixture]
[NonParallelizable]
[CancelAfter(180_000)]
public class ClusterMembershipTests
{
    private InProcessTestCluster _cluster = null!;

    [OneTimeSetUp]
    public async Task StartCluster() => _cluster = await ClusterFixture.StartAsync(3, TimeSpan.Zero);

    [OneTimeTearDown]
    public async Task StopCluster() => await _cluster.DisposeAsync();

    [SetUp]
    public async Task ThreeActiveSilos()
    {
        while (_cluster.Silos.Count(s => s.IsActive) < 3)
        {
            await _cluster.StartAdditionalSiloAsync().WaitAsync(TimeSpan.FromMinutes(1));
        }
    }

    [Test]
    public async Task MapAsync_SiloStoppedMidMap_FailsTheMapNamingTheLostItems()
    {
        IClusterIsolatePool pool = _cluster.Client.GetIsolatePool(ClusterFixture.PoolName, new ClusterIsolatePoolOptions { ChunkSize = 10 });
        InProcessSiloHandle victim = _cluster.Silos.Last(s => s.IsActive);
        Task<IReadOnlyList<int>> map = pool.MapAsync(Enumerable.Repeat(40, 600), ClusterWork.Sleep);
        await Poll.Until(() => ClusterFixture.PoolsOf(victim).RunningChunks > 0, "a chunk running on the silo to stop");

        await _cluster.StopSiloAsync(victim).WaitAsync(TimeSpan.FromMinutes(1));

        var ex = Assert.ThrowsAsync<ClusterSiloLostException>(() => Wait.Bounded(map));
        Assert.That(ex!.Silos, Is.EqualTo(new[] { victim.SiloAddress.ToString() }));
        Assert.That(ex.LostItemIndexes, Is.Not.Empty.And.Ordered.And.Unique);
        Assert.That(ex.LostItemIndexes, Has.All.InRange(0L, 599L));
        Assert.That(ex.LostItemIndexes.Count % 10, Is.Zero, "whole chunks of 10 were lost");
        Assert.That(ex.Message, Does.Contain("RerunElsewhere").And.Contain(victim.SiloAddress.ToString()));
    }

    [Test]
    public async Task MapAsync_SiloStoppedMidMapWithRerun_RunsItsChunksElsewhereAndReturnsExactResults()
    {
        using var logs = new ListLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs));
        var options = new ClusterIsolatePoolOptions { ChunkSize = 10, OnSiloLost = SiloLossBehavior.RerunElsewhere, LoggerFactory = loggerFactory };
        IClusterIsolatePool pool = _cluster.Client.GetIsolatePool(ClusterFixture.PoolName, options);
        InProcessSiloHandle victim = _cluster.Silos.Last(s => s.IsActive);
        int[] items = [.. Enumerable.Range(0, 600).Select(i => 30 + (i % 20))];
        Task<IReadOnlyList<int>> map = pool.MapAsync(items, ClusterWork.Sleep);
        await Poll.Until(() => ClusterFixture.PoolsOf(victim).RunningChunks > 0, "a chunk running on the silo to stop");

        await _cluster.StopSiloAsync(victim).WaitAsync(TimeSpan.FromMinutes(1));

        IReadOnlyList<int> results = await Wait.Bounded(map);
        Assert.That(results, Is.EqualTo(items));
        Assert.That(logs.EventIds, Does.Contain(52), "a chunk was lost on the stopped silo and run again (ClusterChunkLost)");
        Assert.That(logs.Messages.First(m => m.Contains("did not finish items", StringComparison.Ordinal)), Does.Contain("runs again on another silo"));
    }

    [Test]
    public async Task MapUnorderedAsync_SiloCrashedMidMap_FailsWithinSecondsNamingExactlyTheCrashedSilosItems()
    {
        IClusterIsolatePool pool = _cluster.Client.GetIsolatePool(ClusterFixture.PoolName, new ClusterIsolatePoolOptions { ChunkSize = 10 });
        InProcessSiloHandle victim = _cluster.Silos.Last(s => s.IsActive);
        SiloCrash crash = SiloCrash.Of(victim);
        int[] items = [.. Enumerable.Range(0, 600).Select(i => (i * 100) + 30)]; // 30 ms each; each result names its index (item / 100)
        var yielded = new List<int>();
        Task consume = Task.Run(async () =>
        {
            await foreach (int result in pool.MapUnorderedAsync(items, ClusterWork.Nap))
            {
                lock (yielded)
                {
                    yielded.Add(result);
                }
            }
        });
        await Poll.Until(() => ClusterFixture.PoolsOf(victim).RunningChunks > 0, "a chunk running on the silo to crash");

        var clock = Stopwatch.StartNew();
        crash.Crash();
        await Poll.Until(() => crash.SwallowedChunks == 2, "both chunks in flight on the crashed silo swallowed");
        Task kill = _cluster.KillSiloAsync(victim);
        var ex = Assert.ThrowsAsync<ClusterSiloLostException>(() => consume.WaitAsync(TimeSpan.FromSeconds(60)));
        TimeSpan noticed = clock.Elapsed;
        await kill.WaitAsync(TimeSpan.FromMinutes(1));

        TestContext.Out.WriteLine($"the crash was noticed after {noticed.TotalSeconds:F1} s");
        Assert.That(noticed, Is.LessThan(TimeSpan.FromSeconds(10)), "the map learned of the death from membership, not from Orleans's 30 s response timeout");
        Assert.That(ex!.Silos, Is.EqualTo(new[] { victim.SiloAddress.ToString() }));
        Assert.That(ex.LostItemIndexes, Is.EqualTo(crash.SwallowedItems), "exactly the items of the chunks the silo took with it");
        int[] delivered = [.. yielded.Select(r => r / 100)];
        Assert.That(delivered, Is.Unique, "no item delivered twice");
        Assert.That(delivered.Intersect(ex.LostItemIndexes.Select(i => (int)i)), Is.Empty, "no item both delivered and named lost");
    }

    [Test]
    public async Task MapAsync_SiloCrashedMidMapWithRerun_RunsItsChunksElsewhereWithinSecondsAndReturnsExactResults()
    {
        using var logs = new ListLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs));
        var options = new ClusterIsolatePoolOptions { ChunkSize = 10, OnSiloLost = SiloLossBehavior.RerunElsewhere, LoggerFactory = loggerFactory };
        IClusterIsolatePool pool = _cluster.Client.GetIsolatePool(ClusterFixture.PoolName, options);
        InProcessSiloHandle victim = _cluster.Silos.Last(s => s.IsActive);
        SiloCrash crash = SiloCrash.Of(victim);
        int[] items = [.. Enumerable.Range(0, 600).Select(i => (i * 100) + 30)];
        Task<IReadOnlyList<int>> map = pool.MapAsync(items, ClusterWork.Nap);
        await Poll.Until(() => ClusterFixture.PoolsOf(victim).RunningChunks > 0, "a chunk running on the silo to crash");

        var clock = Stopwatch.StartNew();
        crash.Crash();
        await Poll.Until(() => crash.SwallowedChunks == 2, "both chunks in flight on the crashed silo swallowed");
        Task kill = _cluster.KillSiloAsync(victim);
        string silo = victim.SiloAddress.ToString();
        await Poll.Until(() => logs.Messages.Count(m => m.Contains("did not finish items", StringComparison.Ordinal) && m.Contains(silo, StringComparison.Ordinal)) == 2, "both lost chunks logged", TimeSpan.FromSeconds(60));
        TimeSpan noticed = clock.Elapsed;
        IReadOnlyList<int> results = await Wait.Bounded(map);
        await kill.WaitAsync(TimeSpan.FromMinutes(1));

        TestContext.Out.WriteLine($"the crash was noticed after {noticed.TotalSeconds:F1} s");
        Assert.That(noticed, Is.LessThan(TimeSpan.FromSeconds(10)), "the map learned of the death from membership, not from Orleans's 30 s response timeout");
        Assert.That(results, Is.EqualTo(items), "every item exactly once, in order, the crashed silo's chunks run again elsewhere");
        Assert.That(logs.Messages.Where(m => m.Contains("did not finish items", StringComparison.Ordinal)), Has.All.Contains("runs again on another silo"));
    }

    [Test]
    public async Task MapAsync_SiloAddedMidMap_TakesWork()
    {
        IClusterIsolatePool pool = _cluster.Client.GetIsolatePool(ClusterFixture.PoolName, new ClusterIsolatePoolOptions { ChunkSize = 4, MembershipRefreshInterval = TimeSpan.FromMilliseconds(200) });
        var added = new TaskCompletionSource<InProcessSiloHandle>(TaskCreationOptions.RunContinuationsAsynchronously);

        // The stream goes on (25 ms items) until the silo that joins has run a chunk, then ends 40 items later, so the
        // map is still running when the silo joins however long its start takes on a loaded machine.
        async IAsyncEnumerable<int> Items()
        {
            int tail = 0;
            var bound = System.Diagnostics.Stopwatch.StartNew();
            while (tail < 40)
            {
                if (bound.Elapsed > TimeSpan.FromSeconds(60) || (added.Task.IsCompleted && ClusterFixture.PoolsOf(added.Task.Result).ChunksServed(ClusterFixture.PoolName) > 0))
                {
                    tail++;
                }

                await Task.Yield();
                yield return 25;
            }
        }

        Task<IReadOnlyList<int>> map = pool.MapAsync(Items(), ClusterWork.Sleep);
        added.SetResult(await _cluster.StartAdditionalSiloAsync().WaitAsync(TimeSpan.FromMinutes(1)));

        IReadOnlyList<int> results = await map.WaitAsync(TimeSpan.FromSeconds(90));
        Assert.That(results, Has.All.EqualTo(25));
        Assert.That(results, Has.Count.GreaterThan(40));
        Assert.That(ClusterFixture.PoolsOf(added.Task.Result).ChunksServed(ClusterFixture.PoolName), Is.GreaterThan(0), "the silo that joined mid-map ran chunks of it");
    }

    [Test]
    public async Task MapAsync_SiloLeftBeforeTheMapButIsStillInTheCachedSilos_RunsItsChunksElsewhereWithoutFailing()
    {
        // A long refresh interval keeps the stopped silo in the pool's cached list when the next map starts; under
        // FailMap (the default) its refused chunks must not be reported as lost: they never reached it.
        using var logs = new ListLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs));
        IClusterIsolatePool pool = _cluster.Client.GetIsolatePool(ClusterFixture.PoolName, new ClusterIsolatePoolOptions { ChunkSize = 5, MembershipRefreshInterval = TimeSpan.FromMinutes(10), LoggerFactory = loggerFactory });
        await UntilSilosSeenAsync(pool, _cluster.Silos.Count(s => s.IsActive)); // fills the cache with every silo
        InProcessSiloHandle victim = _cluster.Silos.Last(s => s.IsActive);
        await _cluster.StopSiloAsync(victim).WaitAsync(TimeSpan.FromMinutes(1));

        IReadOnlyList<int> squares = await Wait.Bounded(pool.MapAsync(Enumerable.Range(0, 200), PoolWork.Square));

        Assert.That(squares, Is.EqualTo(Enumerable.Range(0, 200).Select(i => i * i)));
        Assert.That(logs.Messages.Where(m => m.Contains("did not finish items", StringComparison.Ordinal)), Has.All.Contains("runs again on another silo"));
        Assert.That(logs.Messages.Where(m => m.Contains("did not finish items", StringComparison.Ordinal)), Is.Not.Empty, "the map did send chunks to the stopped silo");
    }

    private static async Task UntilSilosSeenAsync(IClusterIsolatePool pool, int count)
    {
        var bound = System.Diagnostics.Stopwatch.StartNew();
        while ((await pool.GetSilosAsync().WaitAsync(Wait.Timeout)).Count != count)
        {
            Assert.That(bound.Elapsed, Is.LessThan(Wait.Timeout), $"{count} silos running the pool in membership");
            await Task.Delay(100);
        }
    }
}
