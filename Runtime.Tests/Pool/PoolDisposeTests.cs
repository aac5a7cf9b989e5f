using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using Isolates.Calls;
using Isolates.Tests.Diagnostics;
using Isolates.Tests.Support;

namespace Isolates.Tests.Pool;

/// <summary>
/// Disposing a pool while work runs: new work is refused at once, running work is waited for up to DisposeTimeout,
/// and work cut short fails loudly with how many items finished; it never completes with default results.
/// </summary>
[TestFixture]
[CancelAfter(60_000)]
public class PoolDisposeTests
{
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(300);

    [Test]
    public async Task MapAsync_DisposedWithShortTimeout_FailsWithCountsInsteadOfDefaults()
    {
        IsolatePool pool = await CreateAsync("short", Short);
        Task<IReadOnlyList<int>> map = pool.MapAsync(Enumerable.Range(0, 20_000), PoolDisposeWork.SleepOne);
        await Task.Delay(300);

        TimeSpan disposing = await TimeDisposeAsync(pool);

        var error = Assert.ThrowsAsync<IsolatePoolClosedException>(() => Wait.Bounded(map));
        AssertCutShort(error!, "short", total: 20_000);
        AssertWaitedThenStopped(disposing);
        await AssertClosedAsync(pool, "short");
    }

    [Test]
    public async Task MapAsync_AsyncFunctionDisposedWithShortTimeout_FailsWithCounts()
    {
        IsolatePool pool = await CreateAsync("short-async", Short);
        Task<IReadOnlyList<int>> map = pool.MapAsync(Enumerable.Range(0, 20_000), PoolDisposeWork.DelayOneAsync);
        await Task.Delay(300);

        TimeSpan disposing = await TimeDisposeAsync(pool);

        var error = Assert.ThrowsAsync<IsolatePoolClosedException>(() => Wait.Bounded(map));
        AssertCutShort(error!, "short-async", total: 20_000);
        AssertWaitedThenStopped(disposing);
    }

    [Test]
    public async Task MapAsync_DisposedWithLongTimeout_DisposeWaitsAndResultsAreExact()
    {
        IsolatePool pool = await CreateAsync("long", Wait.Timeout);
        Task<IReadOnlyList<int>> map = pool.MapAsync(Enumerable.Range(0, 1_000), PoolDisposeWork.SleepOne);
        await Task.Delay(100);

        await Wait.Bounded(pool.DisposeAsync().AsTask());

        Assert.That(map.IsCompleted, Is.True, "DisposeAsync returned while the map was still running");
        Assert.That(await map, Is.EqualTo(Enumerable.Range(1, 1_000)));
        await AssertClosedAsync(pool, "long");
    }

    [Test]
    public async Task MapUnorderedAsync_DisposedWithShortTimeout_ThrowsFromEnumerationAfterExactlyTheFinishedItems()
    {
        IsolatePool pool = await CreateAsync("unordered-short", Short);
        var seen = new List<int>();
        Task consuming = Task.Run(async () =>
        {
            await foreach (int result in pool.MapUnorderedAsync(Enumerable.Range(0, 20_000), PoolDisposeWork.SleepOne))
            {
                seen.Add(result);
            }
        });
        await Task.Delay(300);

        TimeSpan disposing = await TimeDisposeAsync(pool);

        var error = Assert.ThrowsAsync<IsolatePoolClosedException>(() => Wait.Bounded(consuming));
        AssertCutShort(error!, "unordered-short", total: 20_000);
        Assert.That(seen, Has.Count.EqualTo(error!.ItemsFinished), "the enumeration yielded exactly the items reported finished");
        Assert.That(error.Message, Does.Contain($"yielded the {error.ItemsFinished.ToString("N0", CultureInfo.InvariantCulture)} finished results"));
        Assert.That(seen, Is.Unique);
        Assert.That(seen, Is.All.InRange(1, 20_000));
        AssertWaitedThenStopped(disposing);
    }

    [Test]
    public async Task MapUnorderedAsync_DisposedWithLongTimeout_YieldsEveryResultOnce()
    {
        IsolatePool pool = await CreateAsync("unordered-long", Wait.Timeout);
        var seen = new List<int>();
        Task consuming = Task.Run(async () =>
        {
            await foreach (int result in pool.MapUnorderedAsync(Enumerable.Range(0, 1_000), PoolDisposeWork.SleepOne))
            {
                seen.Add(result);
            }
        });
        await Task.Delay(100);

        await Wait.Bounded(pool.DisposeAsync().AsTask());

        await Wait.Bounded(consuming);
        Assert.That(seen, Is.EquivalentTo(Enumerable.Range(1, 1_000)));
    }

    [Test]
    public async Task MapAsync_StreamStillBeingReadWhenDisposedWithShortTimeout_FailsWithCountsAndStopsTheSource()
    {
        IsolatePool pool = await CreateAsync("stream-short", Short);
        var source = new EndlessSource();
        Task<IReadOnlyList<int>> map = pool.MapAsync(source.ReadAsync(), PoolDisposeWork.SleepOne);
        await Task.Delay(300);

        TimeSpan disposing = await TimeDisposeAsync(pool);

        var error = Assert.ThrowsAsync<IsolatePoolClosedException>(() => Wait.Bounded(map));
        Assert.That(source.Ended, Is.True, "the source's enumerator was disposed before the map failed");
        Assert.That(error!.ItemsFinished, Is.GreaterThan(0).And.LessThan(error.ItemsTotal));
        Assert.That(error.ItemsTotal, Is.LessThanOrEqualTo(source.Produced));
        Assert.That(error.ItemsFinished + error.ItemsNotFinished, Is.EqualTo(error.ItemsTotal));
        Assert.That(error.Message, Does.Contain("not read to its end").And.Contain("DisposeTimeout").And.Contain("'stream-short'"));
        AssertWaitedThenStopped(disposing);
    }

    [Test]
    public async Task MapUnorderedAsync_StreamDisposedWithShortTimeout_ThrowsAfterExactlyTheFinishedItems()
    {
        IsolatePool pool = await CreateAsync("stream-unordered", Short);
        var source = new EndlessSource();
        var seen = new List<int>();
        Task consuming = Task.Run(async () =>
        {
            await foreach (int result in pool.MapUnorderedAsync(source.ReadAsync(), PoolDisposeWork.SleepOne))
            {
                seen.Add(result);
            }
        });
        await Task.Delay(300);

        await TimeDisposeAsync(pool);

        var error = Assert.ThrowsAsync<IsolatePoolClosedException>(() => Wait.Bounded(consuming));
        Assert.That(seen, Has.Count.EqualTo(error!.ItemsFinished));
        Assert.That(seen, Is.Unique);
        Assert.That(error.ItemsTotal, Is.GreaterThan(error.ItemsFinished));
        Assert.That(source.Ended, Is.True);
    }

    [Test]
    public async Task MapAsync_FiniteStreamDisposedWithLongTimeout_ReadsToTheEndAndResultsAreExact()
    {
        IsolatePool pool = await CreateAsync("stream-long", Wait.Timeout);
        Task<IReadOnlyList<int>> map = pool.MapAsync(SlowRangeAsync(500), PoolDisposeWork.SleepOne);
        await Task.Delay(100);

        await Wait.Bounded(pool.DisposeAsync().AsTask());

        Assert.That(map.IsCompleted, Is.True, "DisposeAsync returned while the map was still running");
        Assert.That(await map, Is.EqualTo(Enumerable.Range(1, 500)));
    }

    [Test]
    public async Task AnyWork_AfterDispose_FailsAtOnceNamingThePool()
    {
        IsolatePool pool = await CreateAsync("gone", Wait.Timeout);
        await Wait.Bounded(pool.DisposeAsync().AsTask());

        AssertRefused(Assert.Throws<ObjectDisposedException>(() => pool.MapAsync(new[] { 1 }, PoolWork.Square)), "gone");
        AssertRefused(Assert.ThrowsAsync<ObjectDisposedException>(() => Wait.Bounded(pool.MapAsync(SlowRangeAsync(3), PoolWork.Square))), "gone");
        AssertRefused(Assert.ThrowsAsync<ObjectDisposedException>(() => Wait.Bounded(DrainAsync(pool.MapUnorderedAsync(new[] { 1 }, PoolWork.Square)))), "gone");
        AssertRefused(Assert.ThrowsAsync<ObjectDisposedException>(() => Wait.Bounded(DrainAsync(pool.MapUnorderedAsync(SlowRangeAsync(3), PoolWork.Square)))), "gone");
        AssertRefused(Assert.Throws<ObjectDisposedException>(() => pool.SubmitAsync(PoolWork.Square, 3)), "gone");
    }

    [Test]
    public async Task AnyWork_WhileDisposeWaits_IsRefusedAtOnceAndRunningWorkFinishes()
    {
        IsolatePool pool = await CreateAsync("draining", Wait.Timeout);
        Task<int> running = pool.SubmitAsync(PoolDisposeWork.Sleep, 500);
        var watch = Stopwatch.StartNew();

        Task disposing = pool.DisposeAsync().AsTask();

        Assert.That(disposing.IsCompleted, Is.False, "dispose waits for the running call");
        AssertRefused(Assert.Throws<ObjectDisposedException>(() => pool.MapAsync(new[] { 1 }, PoolWork.Square)), "draining");
        AssertRefused(Assert.Throws<ObjectDisposedException>(() => pool.SubmitAsync(PoolWork.Square, 3)), "draining");
        AssertRefused(Assert.ThrowsAsync<ObjectDisposedException>(() => Wait.Bounded(DrainAsync(pool.MapUnorderedAsync(new[] { 1 }, PoolWork.Square)))), "draining");
        Assert.That(await Wait.Bounded(running), Is.EqualTo(500));
        await Wait.Bounded(disposing);
        Assert.That(watch.Elapsed, Is.GreaterThan(TimeSpan.FromMilliseconds(400)), "dispose returned before the running call finished");
        await AssertClosedAsync(pool, "draining");
    }

    [Test]
    public async Task SubmitAsync_DisposedWithShortTimeout_FailsWithPoolClosedException()
    {
        IsolatePool pool = await CreateAsync("submit-short", Short);
        Task<int> running = pool.SubmitAsync(PoolDisposeWork.DelayAsync, 10_000);
        await Task.Delay(50);

        TimeSpan disposing = await TimeDisposeAsync(pool);

        var error = Assert.ThrowsAsync<IsolatePoolClosedException>(() => Wait.Bounded(running));
        Assert.That(error!.PoolName, Is.EqualTo("submit-short"));
        Assert.That((error.ItemsFinished, error.ItemsTotal), Is.EqualTo((0L, 1L)));
        Assert.That(error.Message, Does.Contain("DisposeTimeout"));
        AssertWaitedThenStopped(disposing);
    }

    [Test]
    public async Task MapAsync_CallerCancelsWhileDisposeWaits_MapIsCancelledAndDisposeReturns()
    {
        IsolatePool pool = await CreateAsync("cancelled", Wait.Timeout);
        using var cts = new CancellationTokenSource();
        Task<IReadOnlyList<int>> map = pool.MapAsync(Enumerable.Range(0, 20_000), PoolDisposeWork.SleepOne, cts.Token);
        await Task.Delay(100);
        Task disposing = pool.DisposeAsync().AsTask();
        await Task.Delay(200);

        Assert.That(disposing.IsCompleted, Is.False, "dispose waits for the running map");
        await cts.CancelAsync();

        Assert.CatchAsync<OperationCanceledException>(() => Wait.Bounded(map));
        await Wait.Bounded(disposing);
        await AssertClosedAsync(pool, "cancelled");
    }

    [Test]
    public async Task DisposeAsync_TwoConcurrentCalls_BothWaitForRunningWork()
    {
        IsolatePool pool = await CreateAsync("twice", Wait.Timeout);
        Task<IReadOnlyList<int>> map = pool.MapAsync(Enumerable.Range(0, 600), PoolDisposeWork.SleepOne);
        await Task.Delay(50);

        Task first = Task.Run(async () => await pool.DisposeAsync());
        Task second = Task.Run(pool.CloseAsync);
        await Wait.Bounded(Task.WhenAny(first, second));

        Assert.That(map.IsCompleted, Is.True, "a dispose returned while the map was still running");
        await Wait.Bounded(Task.WhenAll(first, second));
        Assert.That(await map, Is.EqualTo(Enumerable.Range(1, 600)));
        await AssertClosedAsync(pool, "twice");
    }

    [Test]
    public async Task DisposeAsync_FromTheMapsOwnContinuation_Completes()
    {
        IsolatePool pool = await CreateAsync("continuation", Wait.Timeout);
        Task<IReadOnlyList<int>> map = pool.MapAsync(Enumerable.Range(0, 200), PoolDisposeWork.SleepOne);

        Task disposed = map.ContinueWith(
            _ => pool.DisposeAsync().AsTask(),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default).Unwrap();

        await Wait.Bounded(disposed);
        Assert.That(await map, Is.EqualTo(Enumerable.Range(1, 200)));
        await AssertClosedAsync(pool, "continuation");
    }

    [Test]
    public async Task DisposeAsync_FromInsideAnUnorderedEnumeration_WaitsForTheMapAndEveryResultIsYielded()
    {
        IsolatePool pool = await CreateAsync("inside", Wait.Timeout);
        var seen = new List<int>();

        await Wait.Bounded(Task.Run(async () =>
        {
            await foreach (int result in pool.MapUnorderedAsync(Enumerable.Range(0, 600), PoolDisposeWork.SleepOne))
            {
                seen.Add(result);
                if (seen.Count == 50)
                {
                    await pool.DisposeAsync(); // the map does not depend on this consumer, so it finishes first
                }
            }
        }));

        Assert.That(seen, Is.EquivalentTo(Enumerable.Range(1, 600)));
        await AssertClosedAsync(pool, "inside");
    }

    [Test]
    public async Task DisposeAsync_IsolateFaultsWhileDisposeWaits_ReplacementIsClosedAndNothingHangs()
    {
        IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions
        {
            Size = 2,
            Name = "faulting",
            ChunkSize = 1,
            AsyncInitializer = PoolDisposeWork.SlowInitializeAsync,
            DisposeTimeout = Wait.Timeout,
        });
        Task<IReadOnlyList<int>> map = pool.MapAsync(Enumerable.Range(0, 2_000), PoolDisposeWork.SleepOne);
        await Task.Delay(100);
        Task<int> crash = pool.SubmitAsync(PoolWork.CrashOnMinusOneAsync, -1);

        Task disposing = pool.DisposeAsync().AsTask();

        Assert.CatchAsync<IsolateException>(() => Wait.Bounded(crash));
        try
        {
            Assert.That(await Wait.Bounded(map), Is.EqualTo(Enumerable.Range(1, 2_000)), "a map that completes has every result");
        }
        catch (IsolateException)
        {
            // the fault cut the map short: a failure, never wrong results
        }

        await Wait.Bounded(disposing);
        await AssertClosedAsync(pool, "faulting");
    }

    [Test]
    public async Task DisposeAsync_ShortTimeoutWhileSubmitWaitsForAReplacement_SubmitEndsAndReplacementCloses()
    {
        IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions
        {
            Size = 1,
            Name = "replacing",
            AsyncInitializer = PoolDisposeWork.SlowInitializeAsync,
            DisposeTimeout = TimeSpan.FromMilliseconds(100),
        });
        Assert.CatchAsync<IsolateClosedException>(() => Wait.Bounded(pool.SubmitAsync(PoolWork.CrashOnMinusOneAsync, -1)));
        await Poll.Until(() => pool.Replacements == 1, "the faulted isolate to be replaced");
        Task<int> waiting = pool.SubmitAsync(PoolWork.Square, 3); // waits for the replacement's 300 ms initializer

        TimeSpan disposing = await TimeDisposeAsync(pool);

        // Either the replacement started within the timeout and the call ran, or the call was cut short: never a hang.
        try
        {
            Assert.That(await Wait.Bounded(waiting), Is.EqualTo(9));
        }
        catch (IsolatePoolClosedException error)
        {
            Assert.That(error.PoolName, Is.EqualTo("replacing"));
        }

        Assert.That(disposing, Is.LessThan(TimeSpan.FromSeconds(5)));
        await AssertClosedAsync(pool, "replacing");
    }

    [Test]
    public async Task MapAsync_AnIsolateClosedByOtherCode_MapIsExactOrFailsAndThePoolReplacesTheIsolate()
    {
        await using IsolatePool pool = await CreateAsync("closed-outside", Wait.Timeout);
        Task<IReadOnlyList<int>> map = pool.MapAsync(Enumerable.Range(0, 1_000), PoolDisposeWork.SleepOne);
        await Task.Delay(100);

        await Wait.Bounded(pool.Isolates[0].CloseAsync()); // not the pool's doing: it is not closing

        try
        {
            Assert.That(await Wait.Bounded(map), Is.EqualTo(Enumerable.Range(1, 1_000)), "a map that completes has every result");
        }
        catch (IsolateClosedException error)
        {
            Assert.That(error.Message, Does.Contain("did not complete"));
        }

        await Poll.Until(() => pool.Replacements == 1 && pool.Isolates.Count == 2, "the closed isolate to be replaced");
        Assert.That(await Wait.Bounded(pool.MapAsync(Enumerable.Range(0, 100), PoolDisposeWork.SleepOne)), Is.EqualTo(Enumerable.Range(1, 100)));
    }

    [Test]
    public async Task TrySteal_ChunkRefusedByItsClosedIsolate_IsNotStolenAfterItFailed()
    {
        Isolate isolate = await Isolate.CreateAsync(new IsolateOptions { Name = "refusing" });
        await Wait.Bounded(isolate.CloseAsync());
        var batch = new BatchItem<int, int>(isolate.Engine, CallPlan.Get((Func<int, int>)PoolWork.Square, ResultShape.Value), [1, 2, 3], 0, 3, 0, new int[3], 0, CancellationToken.None);

        batch.Enqueue(); // the closed isolate refuses it: the chunk fails as "did not complete"

        Assert.ThrowsAsync<IsolateClosedException>(() => Wait.Bounded(batch.Task));
        Assert.That(batch.TrySteal(), Is.False, "a thief would run and deliver items the map reports as not done");
    }

    private static Task<IsolatePool> CreateAsync(string name, TimeSpan disposeTimeout) =>
        IsolatePool.CreateAsync(new IsolatePoolOptions { Size = 2, Name = name, DisposeTimeout = disposeTimeout });

    private static async Task<TimeSpan> TimeDisposeAsync(IsolatePool pool)
    {
        var watch = Stopwatch.StartNew();
        await Wait.Bounded(pool.DisposeAsync().AsTask());
        return watch.Elapsed;
    }

    private static void AssertCutShort(IsolatePoolClosedException error, string pool, long total)
    {
        Assert.That(error.PoolName, Is.EqualTo(pool));
        Assert.That(error.ItemsTotal, Is.EqualTo(total));
        Assert.That(error.ItemsFinished, Is.GreaterThan(0).And.LessThan(total), "some items ran before the dispose, not all");
        Assert.That(error.ItemsFinished + error.ItemsNotFinished, Is.EqualTo(total));
        string counts = string.Format(CultureInfo.InvariantCulture, "{0:N0} of {1:N0} items finished", error.ItemsFinished, total);
        Assert.That(error.Message, Does.Contain(counts).And.Contain("DisposeTimeout").And.Contain($"'{pool}'"));
    }

    private static void AssertWaitedThenStopped(TimeSpan disposing)
    {
        Assert.That(disposing, Is.GreaterThanOrEqualTo(Short - TimeSpan.FromMilliseconds(20)), "dispose waited for running work up to DisposeTimeout");
        Assert.That(disposing, Is.LessThan(Short + TimeSpan.FromSeconds(5)), "dispose stopped the work soon after DisposeTimeout");
    }

    private static void AssertRefused(ObjectDisposedException? error, string pool) =>
        Assert.That(error!.Message, Does.Contain($"'{pool}'"));

    private static async Task AssertClosedAsync(IsolatePool pool, string name)
    {
        await Poll.Until(() => !Isolate.All.Any(i => i.Name.StartsWith(name + "-", StringComparison.Ordinal)), $"every isolate of pool '{name}' to close");
        Assert.That(pool.Isolates, Is.Empty);
    }

    private static async Task DrainAsync<T>(IAsyncEnumerable<T> items)
    {
        await foreach (T _ in items)
        {
        }
    }

    private static async IAsyncEnumerable<int> SlowRangeAsync(int count, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        for (int i = 0; i < count; i++)
        {
            if (i % 10 == 0)
            {
                await Task.Delay(1, cancellationToken);
            }

            yield return i;
        }
    }

    /// <summary>A stream with no end that notes how far it was read and whether its enumerator was disposed.</summary>
    private sealed class EndlessSource
    {
        private int _produced;
        private volatile bool _ended;

        public int Produced => Volatile.Read(ref _produced);

        public bool Ended => _ended;

        public async IAsyncEnumerable<int> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            try
            {
                for (int i = 0; ; i++)
                {
                    if (i % 256 == 0)
                    {
                        await Task.Delay(1, cancellationToken); // still far ahead of the map, so its buffer is full when the pool closes
                    }

                    Interlocked.Increment(ref _produced);
                    yield return i;
                }
            }
            finally
            {
                _ended = true;
            }
        }
    }
}
