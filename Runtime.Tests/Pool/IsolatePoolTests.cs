using Isolates.Tests.Support;

namespace Isolates.Tests.Pool;

[TestFixture]
[CancelAfter(60_000)]
public class IsolatePoolTests
{
    [Test]
    public async Task MapAsync_ManyItems_ReturnsResultsInInputOrder()
    {
        await using IsolatePool pool = await IsolatePool.CreateAsync(size: 2);

        IReadOnlyList<int> squares = await pool.MapAsync(Enumerable.Range(0, 10_000), PoolWork.Square);

        Assert.That(squares, Is.EqualTo(Enumerable.Range(0, 10_000).Select(x => x * x)));
    }

    [Test]
    public async Task MapAsync_RecordsAndAsyncFunction_RebuiltAndOrdered()
    {
        await using IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions { Size = 2, Name = "geo" });
        Point[] points = [.. Enumerable.Range(0, 200).Select(i => new Point(i, -i))];

        IReadOnlyList<Point> doubled = await pool.MapAsync(points, PoolWork.Double);
        IReadOnlyList<string> described = await pool.MapAsync(points, PoolWork.DescribeAsync);

        Assert.That(doubled, Is.EqualTo(points.Select(p => new Point(p.X * 2, p.Y * 2))));
        Assert.That(described.Select(d => d.Split('@')[0]), Is.EqualTo(points.Select(p => $"{p.X},{p.Y}")));
        Assert.That(described.Select(d => d.Split('@')[1]).Distinct(), Is.SubsetOf(new[] { "geo-0", "geo-1" }));
    }

    [Test]
    public async Task MapAsync_EmptyInput_ReturnsEmpty()
    {
        await using IsolatePool pool = await IsolatePool.CreateAsync(size: 1);

        Assert.That(await pool.MapAsync(Array.Empty<int>(), PoolWork.Square), Is.Empty);
    }

    [Test]
    public async Task MapAsync_OneItemFails_FailsWithItsIndexAndPoolStaysUsable()
    {
        await using IsolatePool pool = await IsolatePool.CreateAsync(size: 2);

        var error = Assert.ThrowsAsync<IsolateExecutionException>(() => pool.MapAsync(Enumerable.Range(0, 1_000), PoolWork.FailOn13));

        Assert.That(error!.ItemIndex, Is.EqualTo(13));
        Assert.That(error.RemoteType, Is.EqualTo(typeof(ArgumentException).FullName));
        Assert.That(error.Message, Is.EqualTo("unlucky 13"));
        Assert.That(error.ToString(), Does.Contain("for item 13"));
        Assert.That(await pool.MapAsync(new[] { 1, 2, 3 }, PoolWork.Square), Is.EqualTo(new[] { 1, 4, 9 }));
    }

    [Test]
    public async Task MapAsync_Cancelled_StopsPromptlyAndPoolStaysUsable()
    {
        await using IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions { Size = 2, ChunkSize = 1 });
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        var watch = System.Diagnostics.Stopwatch.StartNew();

        Assert.CatchAsync<OperationCanceledException>(() => pool.MapAsync(Enumerable.Repeat(20_000, 1_000), PoolWork.Spin, cts.Token));

        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(3)), "1,000 items of 20 ms would take 10 s");
        Assert.That(await pool.SubmitAsync(PoolWork.Square, 7), Is.EqualTo(49));
    }

    [Test]
    public async Task MapAsync_OneSlowItem_OtherIsolatesTakeTheRest()
    {
        await using IsolatePool pool = await IsolatePool.CreateAsync(size: 2);

        IReadOnlyList<string> ranOn = await pool.MapAsync(Enumerable.Range(0, 400), PoolWork.SlowOnZero);

        // Item 0 blocks its isolate for 300 ms; items are 1 ms each. Fixed round-robin would leave half the items
        // waiting behind it; dynamic chunks and stealing let the other isolate take most of them meanwhile.
        int onSlowIsolate = ranOn.Count(name => name == ranOn[0]);
        Assert.That(onSlowIsolate, Is.LessThan(200), $"the isolate stuck on item 0 still ran {onSlowIsolate} of 400 items");
    }

    [Test]
    public async Task MapUnorderedAsync_YieldsEveryResultOnce()
    {
        await using IsolatePool pool = await IsolatePool.CreateAsync(size: 2);
        var seen = new List<int>();

        await foreach (int square in pool.MapUnorderedAsync(Enumerable.Range(0, 2_000), PoolWork.Square))
        {
            seen.Add(square);
        }

        Assert.That(seen, Is.EquivalentTo(Enumerable.Range(0, 2_000).Select(x => x * x)));
    }

    [Test]
    public async Task MapUnorderedAsync_ConsumerStopsEarly_RemainingWorkIsCancelled()
    {
        await using IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions { Size = 2, ChunkSize = 1 });
        var watch = System.Diagnostics.Stopwatch.StartNew();
        int taken = 0;

        await foreach (int _ in pool.MapUnorderedAsync(Enumerable.Repeat(20_000, 500), PoolWork.Spin))
        {
            if (++taken == 3)
            {
                break;
            }
        }

        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(3)), "500 items of 20 ms would take 5 s");
    }

    [Test]
    public async Task MapAsync_AsyncEnumerableSource_ReadsWithBackpressureAndKeepsOrder()
    {
        await using IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions { Size = 2, MaxQueuedItems = 16 });
        int produced = 0;
        int maxAhead = 0;
        int consumedEstimate = 0;

        async IAsyncEnumerable<int> Source()
        {
            for (int i = 0; i < 3_000; i++)
            {
                produced++;
                maxAhead = Math.Max(maxAhead, produced - Volatile.Read(ref consumedEstimate));
                if (i % 100 == 0)
                {
                    await Task.Yield();
                }

                yield return i;
            }
        }

        IReadOnlyList<int> squares = await pool.MapAsync(Source(), PoolWork.Square);
        var unordered = new List<int>();
        await foreach (int s in pool.MapUnorderedAsync(Source(), PoolWork.Square))
        {
            unordered.Add(s);
        }

        Assert.That(squares, Is.EqualTo(Enumerable.Range(0, 3_000).Select(x => x * x)));
        Assert.That(unordered, Is.EquivalentTo(squares));
    }

    [Test]
    public async Task Pool_Initializer_RunsOnceInEachIsolateAndStaticsPersist()
    {
        int hostBefore = PoolWork.Initialized();
        await using IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions
        {
            Size = 2,
            Initializer = PoolWork.Initialize,
            AsyncInitializer = PoolWork.InitializeAsync,
        });

        foreach (Isolate isolate in pool.Isolates)
        {
            Assert.That(await isolate.CallAsync(PoolWork.Initialized), Is.EqualTo(11));
        }

        IReadOnlyList<int> counts = await pool.MapAsync(Enumerable.Range(0, 100), PoolWork.CountCall);
        Assert.That(counts.Max(), Is.GreaterThan(1), "each isolate keeps counting across items and calls");
        Assert.That(PoolWork.Initialized(), Is.EqualTo(hostBefore), "the host's statics are untouched");
    }

    [Test]
    public void CreateAsync_InitializerThrows_FailsAndLeavesNoIsolate()
    {
        int before = Isolate.All.Count;

        var error = Assert.ThrowsAsync<IsolateExecutionException>(() => IsolatePool.CreateAsync(new IsolatePoolOptions { Size = 2, Initializer = static () => PoolWork.Throws() }));

        Assert.That(error!.Message, Is.EqualTo("initializer failed"));
        Assert.That(Isolate.All.Count, Is.EqualTo(before));
    }

    [Test]
    public async Task SubmitAsync_SpreadsOverIsolatesAndReturnsResults()
    {
        await using IsolatePool pool = await IsolatePool.CreateAsync(size: 2);

        int[] results = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => pool.SubmitAsync(PoolWork.Square, i)));
        string where = await pool.SubmitAsync(PoolWork.DescribeAsync, new Point(1, 2));

        Assert.That(results, Is.EqualTo(Enumerable.Range(0, 50).Select(i => i * i)));
        Assert.That(where, Does.StartWith("1,2@pool-"));
    }

    [Test]
    public async Task SubmitAsync_ValueTaskOfResult_EveryArityRunsAndReturnsTheResult()
    {
        await using IsolatePool pool = await IsolatePool.CreateAsync(size: 2);
        var point = new Point(3, 4);

        string[] results =
        [
            await pool.SubmitAsync(PoolWork.Join0Async),
            await pool.SubmitAsync(PoolWork.Join1Async, 1),
            await pool.SubmitAsync(PoolWork.Join2Async, 1, "b"),
            await pool.SubmitAsync(PoolWork.Join3Async, 1, "b", point),
            await pool.SubmitAsync(PoolWork.Join4Async, 1, "b", point, true),
            await pool.SubmitAsync(static () => new ValueTask<string>("lambda")),
        ];

        Assert.That(results, Is.EqualTo(new[] { "-", "1", "1b", "1b3,4", "1b3,4True", "lambda" }));
    }

    [Test]
    public async Task SubmitAsync_ValueTask_EveryArityRunsToCompletionInTheIsolate()
    {
        await using IsolatePool pool = await IsolatePool.CreateAsync(size: 1);
        var point = new Point(3, 4);

        await pool.SubmitAsync(PoolWork.Log0Async);
        await pool.SubmitAsync(PoolWork.Log1Async, 1);
        await pool.SubmitAsync(PoolWork.Log2Async, 1, "b");
        await pool.SubmitAsync(PoolWork.Log3Async, 1, "b", point);
        await pool.SubmitAsync(PoolWork.Log4Async, 1, "b", point, true);

        Assert.That(await pool.SubmitAsync(PoolWork.Log), Is.EqualTo("[-][1][1b][1b3,4][1b3,4True]"));
    }

    [Test]
    public async Task SubmitAsync_ValueTaskFails_FailsWithTheIsolatesExceptionAndPoolStaysUsable()
    {
        await using IsolatePool pool = await IsolatePool.CreateAsync(size: 1);

        var error = Assert.ThrowsAsync<IsolateExecutionException>(() => pool.SubmitAsync(PoolWork.FailLaterAsync, 7));

        Assert.That(error!.Message, Is.EqualTo("value task failed on 7"));
        Assert.That(await pool.SubmitAsync(PoolWork.Square, 3), Is.EqualTo(9));
    }

    [Test]
    public async Task SubmitAsync_NullValueTaskFunction_ThrowsArgumentNullException()
    {
        await using IsolatePool pool = await IsolatePool.CreateAsync(size: 1);

        Assert.Throws<ArgumentNullException>(() => pool.SubmitAsync((Func<int, ValueTask<int>>)null!, 1));
        Assert.Throws<ArgumentNullException>(() => pool.SubmitAsync((Func<ValueTask>)null!));
    }

    [Test]
    public async Task MapAsync_IsolateFaultsMidChunk_ReportsItemsAndReplacesIsolate()
    {
        await using IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions { Size = 2, ChunkSize = 1 });
        Isolate[] before = [.. pool.Isolates];

        var error = Assert.ThrowsAsync<IsolateClosedException>(() => pool.MapAsync(new[] { 1, 2, -1, 4, 5, 6 }, PoolWork.CrashOnMinusOneAsync));

        Assert.That(error!.Message, Does.Contain("Items 2 to 2 were in flight"));
        Assert.That(error.InnerException, Is.TypeOf<IsolateExecutionException>());
        for (int i = 0; i < 250 && (pool.Replacements < 1 || pool.Isolates.Count < 2); i++)
        {
            await Task.Delay(20);
        }

        Assert.That(pool.Replacements, Is.EqualTo(1));
        Assert.That(pool.Isolates, Has.Count.EqualTo(2));
        Assert.That(pool.Isolates.Intersect(before).Count(), Is.EqualTo(1), "one isolate was replaced");
        Assert.That(await pool.MapAsync(new[] { 1, 2, 3, 4 }, PoolWork.Square), Is.EqualTo(new[] { 1, 4, 9, 16 }));
    }

    [Test]
    public async Task DisposeAsync_WaitsForRunningWorkThenClosesEveryIsolate()
    {
        IsolatePool pool = await IsolatePool.CreateAsync(size: 2);
        Isolate[] isolates = [.. pool.Isolates];
        Task<IReadOnlyList<int>> running = pool.MapAsync(Enumerable.Repeat(2_000, 100), PoolWork.Spin);
        await Task.Delay(20);

        await Wait.Bounded(pool.DisposeAsync().AsTask());

        Assert.That(running.IsCompletedSuccessfully, Is.True, "running work finished before the isolates closed");
        Assert.That(isolates.Select(i => i.State), Is.All.EqualTo(IsolateState.Closed));
        Assert.That(Isolate.All.Intersect(isolates), Is.Empty);
        Assert.Throws<ObjectDisposedException>(() => pool.MapAsync(new[] { 1 }, PoolWork.Square));
    }

    [Test]
    public void CreateAsync_InvalidOptions_ThrowArgumentExceptions()
    {
        Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => IsolatePool.CreateAsync(size: -1));
        Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => IsolatePool.CreateAsync(new IsolatePoolOptions { MaxQueuedItems = 0 }));
        Assert.ThrowsAsync<ArgumentNullException>(() => IsolatePool.CreateAsync(null!));
    }

    [Test]
    public async Task MapAsync_NullArguments_ThrowArgumentNullException()
    {
        await using IsolatePool pool = await IsolatePool.CreateAsync(size: 1);

        Assert.Throws<ArgumentNullException>(() => pool.MapAsync((int[])null!, PoolWork.Square));
        Assert.Throws<ArgumentNullException>(() => pool.MapAsync(new[] { 1 }, (Func<int, int>)null!));
    }
}
