using Isolates.Tests.Diagnostics;
using Isolates.Tests.Support;

namespace Isolates.Tests.Pool;

/// <summary>
/// A pool isolate that ends (faults, is closed, is killed) while a map has chunks queued on it that it never started:
/// those chunks run on the other isolates or the replacement, every item exactly once, and the map fails only for
/// what really failed. A pool being disposed still cuts its maps short.
/// </summary>
[TestFixture]
[NonParallelizable] // the gates and run counters live in AppDomain data, shared by every isolate
[CancelAfter(120_000)]
public class PoolResendTests
{
    private const int Items = 200;

    private ManualResetEventSlim _blocked = null!;
    private ManualResetEventSlim _release = null!;
    private int[] _runs = null!;
    private long[] _blockedOn = null!;

    [SetUp]
    public void Arm()
    {
        _blocked = new ManualResetEventSlim();
        _release = new ManualResetEventSlim();
        _runs = new int[Items];
        _blockedOn = new long[1];
        AppDomain.CurrentDomain.SetData(PoolResendWork.BlockedOnKey, _blockedOn);
        AppDomain.CurrentDomain.SetData(PoolResendWork.BlockedKey, _blocked);
        AppDomain.CurrentDomain.SetData(PoolResendWork.ReleaseKey, _release);
        AppDomain.CurrentDomain.SetData(PoolResendWork.RunsKey, _runs);
    }

    [TearDown]
    public void Disarm()
    {
        _release.Set(); // no isolate thread stays held by a failed test
        AppDomain.CurrentDomain.SetData(PoolResendWork.BlockedKey, null);
        AppDomain.CurrentDomain.SetData(PoolResendWork.ReleaseKey, null);
        AppDomain.CurrentDomain.SetData(PoolResendWork.RunsKey, null);
        AppDomain.CurrentDomain.SetData(PoolResendWork.BlockedOnKey, null);
        _blocked.Dispose();
        _release.Dispose();
    }

    /// <summary>Item -1 first, then 0..Items-1 (each item's value is its index in the run counters).</summary>
    private static int[] Input() => [-1, .. Enumerable.Range(0, Items)];

    [Test]
    public async Task MapAsync_IsolateFaultsAfterItemWithChunksQueuedBehind_QueuedChunksRunElsewhereExactlyOnce()
    {
        await using IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions { Size = 2, ChunkSize = 1 });
        Task<IReadOnlyList<int>> map = pool.MapAsync(Input(), PoolResendWork.FaultAfterMinusOne);
        Assert.That(_blocked.Wait(Wait.Timeout), Is.True, "item -1 to run");
        await Task.Delay(100); // the map queues the next chunks on the blocked isolate, behind the fault
        _release.Set(); // item -1 succeeds, then its isolate faults: the chunks queued behind it never start

        IReadOnlyList<int> results = await Wait.Bounded(map);

        Assert.Multiple(() =>
        {
            Assert.That(results, Is.EqualTo(Input()));
            Assert.That(_runs, Is.All.EqualTo(1), "every item ran exactly once");
        });
        await Poll.Until(() => pool.Replacements == 1, "the faulted isolate to be replaced");
    }

    [Test]
    public async Task MapAsync_IsolateFaultsDuringItemWithChunksQueuedBehind_ErrorNamesOnlyThatItem()
    {
        await using IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions { Size = 2, ChunkSize = 1 });
        Task<IReadOnlyList<int>> map = pool.MapAsync(Input(), PoolResendWork.FaultDuringMinusOneAsync);
        Assert.That(_blocked.Wait(Wait.Timeout), Is.True, "item -1 to run");
        await Task.Delay(100);
        _release.Set(); // item -1 is in flight when its isolate faults; the chunks queued behind it never start

        var error = Assert.ThrowsAsync<IsolateClosedException>(() => Wait.Bounded(map))!;

        Assert.Multiple(() =>
        {
            Assert.That(error.Message, Does.Contain("Items 0 to 0 were in flight"), "item -1 is input number 0");
            Assert.That(error.InnerException, Is.TypeOf<IsolateExecutionException>());
            Assert.That(_runs, Is.All.LessThanOrEqualTo(1), "no item ran twice");
        });
    }

    [Test]
    public async Task MapAsync_PoolIsolateClosedWithChunksQueued_QueuedChunksRunElsewhereExactlyOnce()
    {
        await using IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions { Size = 2, ChunkSize = 1 });
        Task<IReadOnlyList<int>> map = pool.MapAsync(Input(), PoolResendWork.BlockOnMinusOne);
        Assert.That(_blocked.Wait(Wait.Timeout), Is.True, "item -1 to run");
        await Task.Delay(100);
        Isolate blocked = pool.Isolates.Single(i => i.Id == Volatile.Read(ref _blockedOn[0]));
        Task closing = blocked.CloseAsync(); // refuses the chunks queued behind item -1, which goes on running
        _release.Set();
        await Wait.Bounded(closing);

        IReadOnlyList<int> results = await Wait.Bounded(map);

        Assert.Multiple(() =>
        {
            Assert.That(results, Is.EqualTo(Input()));
            Assert.That(_runs, Is.All.EqualTo(1), "every item ran exactly once");
        });
    }

    [Test]
    public async Task MapUnorderedAsync_StreamWithPoolIsolateClosedWithChunksQueued_EveryResultExactlyOnce()
    {
        await using IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions { Size = 2, ChunkSize = 1 });
        var yielded = new List<int>();
        Task consuming = Task.Run(async () =>
        {
            await foreach (int result in pool.MapUnorderedAsync(StreamAsync(Input()), PoolResendWork.BlockOnMinusOne))
            {
                yielded.Add(result);
            }
        });
        Assert.That(_blocked.Wait(Wait.Timeout), Is.True, "item -1 to run");
        await Task.Delay(100);
        Task closing = pool.Isolates.Single(i => i.Id == Volatile.Read(ref _blockedOn[0])).CloseAsync();
        _release.Set();
        await Wait.Bounded(closing);

        await Wait.Bounded(consuming);

        Assert.Multiple(() =>
        {
            Assert.That(yielded.Order(), Is.EqualTo(Input().Order()), "each result exactly once");
            Assert.That(_runs, Is.All.EqualTo(1), "every item ran exactly once");
        });
    }

    private static async IAsyncEnumerable<int> StreamAsync(int[] items)
    {
        foreach (int item in items)
        {
            await Task.Yield();
            yield return item;
        }
    }

    [Test]
    public async Task MapAsync_ChildClosedWithChunksQueuedInIt_QueuedChunksRunElsewhereExactlyOnce()
    {
        await using IsolatePool pool = await ChildPoolAsync();
        int[] input = [.. Enumerable.Range(0, 20)];
        Task<IReadOnlyList<int>> map = pool.MapAsync(input, PoolResendWork.SquareSlowly);
        await CloseFirstMidMapAsync(pool);

        IReadOnlyList<int> results = await Wait.Bounded(map);

        Assert.That(results, Is.EqualTo(input.Select(x => x * x)), "every result, in order");
    }

    [Test]
    public async Task MapUnorderedAsync_ChildClosedWithChunksQueuedInIt_EveryResultExactlyOnce()
    {
        await using IsolatePool pool = await ChildPoolAsync();
        int[] input = [.. Enumerable.Range(0, 20)];
        var yielded = new List<int>();
        Task consuming = Task.Run(async () =>
        {
            await foreach (int result in pool.MapUnorderedAsync(input, PoolResendWork.SquareSlowly))
            {
                yielded.Add(result);
            }
        });
        await CloseFirstMidMapAsync(pool);

        await Wait.Bounded(consuming);

        Assert.That(yielded.Order(), Is.EqualTo(input.Select(x => x * x)), "each result exactly once");
    }

    /// <summary>
    /// A killed child cannot say which of the items sent to it started: those are reported, never run again; every
    /// other item is delivered at most once.
    /// </summary>
    [Test]
    public async Task MapUnorderedAsync_ChildKilledMidMap_FailsNamingOnlyItemsSentToItAndYieldsNoneTwice()
    {
        await using IsolatePool pool = await ChildPoolAsync();
        int[] input = [.. Enumerable.Range(0, 20)];
        var yielded = new List<int>();
        Task consuming = Task.Run(async () =>
        {
            await foreach (int result in pool.MapUnorderedAsync(input, PoolResendWork.SquareSlowly))
            {
                yielded.Add(result);
            }
        });
        Isolate victim = pool.Isolates[0];
        await Task.Delay(300); // each isolate is running one item (of 200 ms) and has the next one queued
        await Wait.Bounded(victim.KillAsync());

        var error = Assert.ThrowsAsync<IsolateClosedException>(() => Wait.Bounded(consuming))!;

        var named = System.Text.RegularExpressions.Regex.Match(error.Message, @"Items (\d+) to (\d+) were in flight");
        Assert.That(named.Success, Is.True, error.Message);
        int first = int.Parse(named.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        int last = int.Parse(named.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Multiple(() =>
        {
            Assert.That(error.IsolateId, Is.EqualTo(victim.Id));
            Assert.That(yielded, Is.Unique, "no result twice");
            Assert.That(yielded, Has.None.InRange(first * first, last * last), "the lost items are reported, not delivered");
        });
    }

    /// <summary>Two child-process isolates; chunks of one item, so that one runs and one waits in the child.</summary>
    private static async Task<IsolatePool> ChildPoolAsync()
    {
        IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions
        {
            Size = 2,
            ChunkSize = 1,
            IsolateOptions = new IsolateOptions { Placement = IsolatePlacement.ChildProcess },
        });

        // Warmed up: the map's first items run at once on both, so a map is surely under way 200 ms after it starts.
        await Wait.Bounded(Task.WhenAll(pool.Isolates.Select(i => i.CallAsync(ChildWork.SquareSlowly, 1))));
        return pool;
    }

    /// <summary>
    /// Closes the first isolate mid-map: its child lets the running item finish and refuses the calls queued behind it,
    /// which never started.
    /// </summary>
    private static async Task CloseFirstMidMapAsync(IsolatePool pool)
    {
        Isolate victim = pool.Isolates[0];
        await Task.Delay(300); // each isolate is running one item (of 200 ms) and has the next one queued
        await Wait.Bounded(victim.CloseAsync());
    }

    [Test]
    public async Task MapAsync_PoolDisposedWithChunksQueued_FailsAsCutShortWithoutResending()
    {
        IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions
        {
            Size = 2,
            ChunkSize = 1,
            DisposeTimeout = TimeSpan.FromMilliseconds(100),
            IsolateOptions = new IsolateOptions { CloseTimeout = TimeSpan.FromSeconds(5) },
        });
        Task<IReadOnlyList<int>> map = pool.MapAsync(Input(), PoolResendWork.BlockOnMinusOne);
        Assert.That(_blocked.Wait(Wait.Timeout), Is.True, "item -1 to run");
        Task disposing = pool.DisposeAsync().AsTask(); // closes the isolates under the map: queued chunks are refused
        await Task.Delay(300);
        _release.Set();

        var error = Assert.ThrowsAsync<IsolatePoolClosedException>(() => Wait.Bounded(map))!;
        await Wait.Bounded(disposing);

        Assert.Multiple(() =>
        {
            Assert.That(error.ItemsFinished, Is.LessThan(error.ItemsTotal));
            Assert.That(_runs, Is.All.LessThanOrEqualTo(1), "no item ran twice");
            Assert.That(pool.Replacements, Is.Zero, "nothing is replaced, nor resent, once the pool closes its isolates");
        });
    }
}
