using System.Runtime.CompilerServices;
using Isolates.Tests.Diagnostics;
using Isolates.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Isolates.Tests.Pool;

/// <summary>
/// The window between a pool isolate faulting and its replacement running: work sent to the slot waits for the
/// replacement or goes to another slot, and a replacement that fails to start is retried, never left failed for good.
/// </summary>
[TestFixture]
[NonParallelizable] // the armed initializer failures live in AppDomain data, shared by every isolate
[CancelAfter(60_000)]
public class PoolReplacementTests
{
    [TearDown]
    public void Disarm() => AppDomain.CurrentDomain.SetData(PoolReplacementWork.FailuresKey, null);

    [Test]
    public async Task SubmitAsync_RightAfterTheOnlyIsolateFaulted_WaitsForTheReplacementAndSucceeds()
    {
        // A slow initializer widens the window between the fault and the replacement running.
        await using IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions
        {
            Size = 1,
            Name = "window",
            AsyncInitializer = PoolDisposeWork.SlowInitializeAsync,
        });

        Assert.CatchAsync<IsolateClosedException>(() => Wait.Bounded(pool.SubmitAsync(PoolWork.CrashOnMinusOneAsync, -1)));
        Task<int>[] racing = [.. Enumerable.Range(0, 20).Select(i => pool.SubmitAsync(PoolWork.Square, i))]; // sent before the replacement runs

        int[] results = await Wait.Bounded(Task.WhenAll(racing));

        Assert.That(results, Is.EqualTo(Enumerable.Range(0, 20).Select(i => i * i)));
        Assert.That(pool.Replacements, Is.EqualTo(1));
    }

    [Test]
    public async Task SubmitAsync_WhileASiblingIsBeingReplaced_NeverFails()
    {
        await using IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions
        {
            Size = 2,
            Name = "sibling",
            AsyncInitializer = PoolDisposeWork.SlowInitializeAsync,
        });

        Task<int> crash = pool.SubmitAsync(PoolWork.CrashOnMinusOneAsync, -1);
        var racing = new List<Task<int>>();
        while (!crash.IsCompleted)
        {
            racing.Add(pool.SubmitAsync(PoolWork.Square, 3));
            await Task.Delay(1);
        }

        for (int i = 0; i < 50; i++)
        {
            racing.Add(pool.SubmitAsync(PoolWork.Square, 3)); // the window: faulted, replacement not running yet
        }

        Assert.CatchAsync<IsolateClosedException>(() => Wait.Bounded(crash));
        Assert.That(await Wait.Bounded(Task.WhenAll(racing)), Is.All.EqualTo(9));
    }

    [Test]
    public async Task SubmitAsync_QueuedWhenTheIsolateIsClosedByOtherCode_RunsOnTheReplacementInsteadOfFailing()
    {
        await using IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions { Size = 1, Name = "queued" });
        Isolate first = pool.Isolates[0];
        Task<int> blocking = pool.SubmitAsync(PoolDisposeWork.Sleep, 500); // holds the isolate's thread
        await Task.Delay(50);
        Task<int>[] queued = [.. Enumerable.Range(0, 10).Select(i => pool.SubmitAsync(PoolWork.Square, i))]; // wait behind it

        Task closing = first.CloseAsync(); // not the pool's doing: the queued calls are dropped before they ran

        Assert.That(await Wait.Bounded(blocking), Is.EqualTo(500), "the running call finishes: close waits for it");
        Assert.That(await Wait.Bounded(Task.WhenAll(queued)), Is.EqualTo(Enumerable.Range(0, 10).Select(i => i * i)));
        await Wait.Bounded(closing);
        Assert.That(pool.Replacements, Is.EqualTo(1));
    }

    [Test]
    public async Task MapAsync_RightAfterAnIsolateFaulted_ReturnsEveryResult()
    {
        await using IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions
        {
            Size = 2,
            Name = "map-window",
            AsyncInitializer = PoolDisposeWork.SlowInitializeAsync,
        });

        Assert.CatchAsync<IsolateClosedException>(() => Wait.Bounded(pool.SubmitAsync(PoolWork.CrashOnMinusOneAsync, -1)));
        IReadOnlyList<int> results = await Wait.Bounded(pool.MapAsync(Enumerable.Range(0, 200), PoolWork.Square));

        Assert.That(results, Is.EqualTo(Enumerable.Range(0, 200).Select(i => i * i)));
    }

    [Test]
    public async Task Replacement_InitializerThrows_IsRetriedWithBackoffLoggedAndObservable()
    {
        var logs = new ListLoggerProvider();
        using ILoggerFactory loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        await using IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions
        {
            Size = 1,
            Name = "retrying",
            Initializer = PoolReplacementWork.FailWhileArmed,
            IsolateOptions = new IsolateOptions { LoggerFactory = loggers },
        });
        var failures = new StrongBox<int>(3);
        AppDomain.CurrentDomain.SetData(PoolReplacementWork.FailuresKey, failures); // the next three starts fail

        Assert.CatchAsync<IsolateClosedException>(() => Wait.Bounded(pool.SubmitAsync(PoolWork.CrashOnMinusOneAsync, -1)));
        await Poll.Until(() => logs.EventIds.Contains(23), "a failed replacement to be logged");
        Assert.That(pool.SlotsAwaitingReplacement, Is.EqualTo(1), "the slot has no isolate while its replacement fails");
        Task<int> waiting = pool.SubmitAsync(PoolWork.Square, 5); // the only slot: it waits for the replacement

        Assert.That(await Wait.Bounded(waiting), Is.EqualTo(25));
        Assert.That(logs.EventIds.Count(id => id == 23), Is.EqualTo(3), "each failed start is logged");
        Assert.That(logs.Messages.Count(m => m.Contains("slot 0", StringComparison.Ordinal)), Is.GreaterThanOrEqualTo(3), "the log says which slot");
        Assert.That(pool.SlotsAwaitingReplacement, Is.Zero);
        Assert.That(pool.Replacements, Is.EqualTo(1));
        Assert.That(pool.Isolates, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task SubmitAsync_SlotCannotBeReplaced_GoesToTheOtherSlot()
    {
        await using IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions
        {
            Size = 2,
            Name = "broken-slot",
            Initializer = PoolReplacementWork.FailWhileArmed,
        });
        AppDomain.CurrentDomain.SetData(PoolReplacementWork.FailuresKey, new StrongBox<int>(int.MaxValue)); // never replaced

        Assert.CatchAsync<IsolateClosedException>(() => Wait.Bounded(pool.SubmitAsync(PoolWork.CrashOnMinusOneAsync, -1)));
        await Poll.Until(() => pool.SlotsAwaitingReplacement == 1, "the slot to wait for its replacement");

        Task<int>[] submits = [.. Enumerable.Range(0, 20).Select(i => pool.SubmitAsync(PoolWork.Square, i))];
        Assert.That(await Wait.Bounded(Task.WhenAll(submits)), Is.EqualTo(Enumerable.Range(0, 20).Select(i => i * i)));
        Assert.That(await Wait.Bounded(pool.MapAsync(Enumerable.Range(0, 100), PoolWork.Square)), Is.EqualTo(Enumerable.Range(0, 100).Select(i => i * i)));
    }

    [Test]
    public async Task SubmitAsync_WaitingForAReplacementThatKeepsFailing_HonoursTokenAndDispose()
    {
        IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions
        {
            Size = 1,
            Name = "never",
            Initializer = PoolReplacementWork.FailWhileArmed,
            DisposeTimeout = TimeSpan.FromMilliseconds(200),
        });
        AppDomain.CurrentDomain.SetData(PoolReplacementWork.FailuresKey, new StrongBox<int>(int.MaxValue));
        Assert.CatchAsync<IsolateClosedException>(() => Wait.Bounded(pool.SubmitAsync(PoolWork.CrashOnMinusOneAsync, -1)));
        await Poll.Until(() => pool.SlotsAwaitingReplacement == 1, "the slot to wait for its replacement");

        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        Assert.CatchAsync<OperationCanceledException>(() => Wait.Bounded(pool.SubmitAsync(PoolWork.Square, 2, cts.Token)));
        Task<int> waiting = pool.SubmitAsync(PoolWork.Square, 2);

        await Wait.Bounded(pool.DisposeAsync().AsTask());

        var error = Assert.ThrowsAsync<IsolatePoolClosedException>(() => Wait.Bounded(waiting));
        Assert.That(error!.PoolName, Is.EqualTo("never"));
    }
}
