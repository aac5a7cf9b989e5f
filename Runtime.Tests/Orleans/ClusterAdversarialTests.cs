using Isolates.Orleans;
using Isolates.Tests.Diagnostics;
using Isolates.Tests.Support;
using Orleans;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.TestingHost;

namespace Isolates.Tests.Orleans;

/// <summary>
/// Bad input and edge cases of cluster maps, on one shared 2-silo in-process cluster whose Orleans messages are limited
/// to 1 MiB and whose response timeout is 2 s (silos and client), so a chunk or a reply too large for Orleans, and a
/// chunk that outlasts the response timeout, are cheap to provoke.
/// </summary>
[TestFixture]
[NonParallelizable]
[CancelAfter(120_000)]
public class ClusterAdversarialTests
{
    private const int MessageLimit = 1 << 20;

    private static readonly TimeSpan ResponseTimeout = TimeSpan.FromSeconds(2);

    private InProcessTestCluster _cluster = null!;

    [OneTimeSetUp]
    public async Task StartCluster()
    {
        var builder = new InProcessTestClusterBuilder(2);
        builder.ConfigureSilo((_, silo) => silo
            .AddIsolatePool(ClusterFixture.PoolName, new IsolatePoolOptions { Size = 2, DisposeTimeout = TimeSpan.FromSeconds(5) })
            .Configure<SiloMessagingOptions>(o => (o.MaxMessageBodySize, o.ResponseTimeout) = (MessageLimit, ResponseTimeout)));
        builder.ConfigureClient(client => client.Configure<ClientMessagingOptions>(o => (o.MaxMessageBodySize, o.ResponseTimeout) = (MessageLimit, ResponseTimeout)));
        _cluster = builder.Build();
        await _cluster.DeployAsync().WaitAsync(TimeSpan.FromMinutes(1));
    }

    [OneTimeTearDown]
    public async Task StopCluster() => await _cluster.DisposeAsync();

    private IClusterIsolatePool Pool(ClusterIsolatePoolOptions? options = null) =>
        options is null ? _cluster.Client.GetIsolatePool(ClusterFixture.PoolName) : _cluster.Client.GetIsolatePool(ClusterFixture.PoolName, options);

    [Test]
    public async Task MapAsync_ChunkTooLargeForAnOrleansMessage_IsSplitAndResultsAreExact()
    {
        // 8 items of 300 KiB in one chunk of 8 are 2.4 MB: sent as one message, Orleans would close the connection.
        string[] items = [.. Enumerable.Range(0, 8).Select(i => new string('y', (300 * 1024) + i))];

        IReadOnlyList<int> lengths = await Wait.Bounded(Pool(new ClusterIsolatePoolOptions { ChunkSize = 8 }).MapAsync(items, ClusterWork.Length));

        Assert.That(lengths, Is.EqualTo(items.Select(i => i.Length)));
    }

    [Test]
    public void MapAsync_ItemTooLargeForAnOrleansMessage_FailsNamingTheItem()
    {
        string[] items = ["small", new string('z', 2 * MessageLimit)];

        var ex = Assert.ThrowsAsync<IsolateSerializationException>(() => Wait.Bounded(Pool().MapAsync(items, ClusterWork.Length)));

        Assert.That(ex!.Message, Does.Contain("Item 1 ").And.Contain("MaxMessageBodySize"));
    }

    [Test]
    public void MapAsync_ResultsTooLargeForAnOrleansMessage_FailsClearly()
    {
        // Each result is 600 KiB: two in one reply pass the 1 MiB limit, and one alone passes it at 1200 KiB.
        var chunk = Assert.ThrowsAsync<IsolateSerializationException>(() => Wait.Bounded(Pool(new ClusterIsolatePoolOptions { ChunkSize = 4 }).MapAsync(new[] { 600, 600, 600, 600 }, ClusterWork.Big)));
        var single = Assert.ThrowsAsync<IsolateSerializationException>(() => Wait.Bounded(Pool().SubmitAsync(ClusterWork.Big, 1200)));

        Assert.That(chunk!.Message, Does.Contain("cannot travel").And.Contain("ChunkSize smaller").And.Contain("MaxMessageBodySize"));
        Assert.That(single!.Message, Does.Contain("one result alone is too large"));
    }

    [Test]
    public async Task MapAsync_ChunkRunsLongerThanTheResponseTimeoutOnALiveSilo_IsNotReportedLost()
    {
        // Each chunk (one item) runs 1.5 times as long as Orleans's response timeout, on silos that stay alive: the map
        // waits for them, as membership says their silos live, instead of counting them lost at the timeout.
        int[] items = [3_000, 3_000];
        var clock = System.Diagnostics.Stopwatch.StartNew();

        IReadOnlyList<int> results = await Wait.Bounded(Pool(new ClusterIsolatePoolOptions { ChunkSize = 1 }).MapAsync(items, ClusterWork.Sleep));

        Assert.That(results, Is.EqualTo(items));
        Assert.That(clock.Elapsed, Is.GreaterThan(ResponseTimeout), "the chunks did outlast the response timeout");
    }

    [Test]
    public void MapAsync_SequenceThrowsWhileCopied_FailsTheReturnedTaskAsALocalPoolDoes()
    {
        Task<IReadOnlyList<int>>? map = null;

        Assert.DoesNotThrow(() => map = Pool().MapAsync(Throwing(), PoolWork.Square), "the call returns a task; the sequence's error is the task's");
        var ex = Assert.ThrowsAsync<InvalidOperationException>(() => Wait.Bounded(map!));
        Assert.That(ex!.Message, Is.EqualTo("source broke"));
    }

    [Test]
    public void MapAsync_AsyncSourceThrowsMidway_FailsWithTheSourcesError()
    {
        var ex = Assert.ThrowsAsync<InvalidOperationException>(() => Wait.Bounded(Pool().MapAsync(ThrowingAsync(), PoolWork.Square)));

        Assert.That(ex!.Message, Is.EqualTo("async source broke"));
    }

    [Test]
    public async Task MapAsync_EmptySources_ReturnEmpty()
    {
        Assert.That(await Wait.Bounded(Pool().MapAsync(Array.Empty<int>(), PoolWork.Square)), Is.Empty);
        Assert.That(await Wait.Bounded(Pool().MapAsync(EmptyAsync(), PoolWork.Square)), Is.Empty);
        Assert.That(await Pool().MapUnorderedAsync(Array.Empty<int>(), PoolWork.Square).ToListAsync().AsTask().WaitAsync(Wait.Timeout), Is.Empty);
    }

    [Test]
    public async Task MapAsync_StreamThatIgnoresCancellationCancelled_EndsTheMap()
    {
        var stream = new Silent();
        using var cancel = new CancellationTokenSource();
        Task<IReadOnlyList<int>> map = Pool().MapAsync(stream, PoolWork.Square, cancel.Token);
        await Poll.Until(() => stream.Asked, "the map waiting for the stream's first item");

        await cancel.CancelAsync();

        Assert.That(async () => await Wait.Bounded(map), Throws.InstanceOf<OperationCanceledException>(), "the cancelled map ends though the stream never answers");
        stream.Answer();
        await Poll.Until(() => stream.Disposed, "the stream disposed once it answered");
    }

    [Test]
    public async Task MapUnorderedAsync_ConsumerStopsEarly_CancelsTheChunksOnTheSilos()
    {
        InProcessSiloHandle[] silos = [.. _cluster.Silos.Where(s => s.IsActive)];
        int[] items = [10, 10, .. Enumerable.Repeat(3_000, 10)];
        await foreach (int r in Pool(new ClusterIsolatePoolOptions { ChunkSize = 2 }).MapUnorderedAsync(items, ClusterWork.Sleep).WithCancellation(new CancellationTokenSource(Wait.Timeout).Token))
        {
            break;
        }

        await Poll.Until(() => silos.All(s => ClusterFixture.PoolsOf(s).RunningChunks == 0), "the silos' chunks cancelled when the consumer stopped", TimeSpan.FromSeconds(2));
    }

    private static IEnumerable<int> Throwing()
    {
        yield return 1;
        throw new InvalidOperationException("source broke");
    }

    private static async IAsyncEnumerable<int> ThrowingAsync()
    {
        for (int i = 0; i < 50; i++)
        {
            await Task.Delay(1);
            yield return i;
        }

        throw new InvalidOperationException("async source broke");
    }

    private static async IAsyncEnumerable<int> EmptyAsync()
    {
        await Task.Yield();
        yield break;
    }

    /// <summary>A stream whose first move answers only when the test says so, whatever the token says.</summary>
    private sealed class Silent : IAsyncEnumerable<int>, IAsyncEnumerator<int>
    {
        private readonly TaskCompletionSource<bool> _answer = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private volatile bool _asked;
        private volatile bool _disposed;

        public bool Asked => _asked;

        public bool Disposed => _disposed;

        public int Current => 0;

        public void Answer() => _answer.TrySetResult(false);

        public IAsyncEnumerator<int> GetAsyncEnumerator(CancellationToken cancellationToken = default) => this;

        public ValueTask<bool> MoveNextAsync()
        {
            _asked = true;
            return new(_answer.Task);
        }

        public ValueTask DisposeAsync()
        {
            _disposed = true;
            return ValueTask.CompletedTask;
        }
    }
}
