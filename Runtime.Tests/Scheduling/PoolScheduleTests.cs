using System.Collections.Concurrent;
using Isolates.Tests.Support;
using static Isolates.Tests.Scheduling.Schedule;

namespace Isolates.Tests.Scheduling;

/// <summary>
/// Disposing an <see cref="IsolatePool"/> while it works, under controlled scheduling. Invariants: a map either
/// returns every result right or fails (work cut short fails loudly); every submitted task completes.
/// </summary>
[NonParallelizable]
public sealed class PoolScheduleTests
{
    /// <summary>
    /// The known bug of issue 11 (being fixed on another branch): a map cut short by the pool's disposal returns
    /// default values for the items it did not run, as if it had succeeded.
    /// </summary>
    [Test]
    public Task MapAsync_PoolDisposedMidMap_FailsOrReturnsEveryResult() => ExploreAsync(12, async seed =>
    {
        IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions
        {
            Size = 2,
            Name = $"map-{seed}",
            DisposeTimeout = seed % 2 == 0 ? TimeSpan.Zero : TimeSpan.FromMilliseconds(1),
            IsolateOptions = new IsolateOptions { WaitForUnload = false },
        });
        int[] items = [.. Enumerable.Range(0, 3_000)];
        Task<IReadOnlyList<int>> map = pool.MapAsync(items, PoolWork.Square);
        Task disposing = Participants.Start("disposer", async () =>
        {
            for (int i = 0; i < seed % 10; i++)
            {
                await Task.Yield();
            }

            await pool.DisposeAsync();
        });
        await Within(disposing, "DisposeAsync");
        await Within(map.ContinueWith(_ => { }, TaskScheduler.Default), "the map");
        if (map.IsCompletedSuccessfully)
        {
            IReadOnlyList<int> results = map.Result;
            int[] wrong = [.. Enumerable.Range(0, items.Length).Where(i => results[i] != i * i).Take(5)];
            Require(wrong.Length == 0, $"the map succeeded with wrong results at [{string.Join(", ", wrong)}] (e.g. {results[wrong.FirstOrDefault()]}): work cut short by the disposal must fail, not return defaults");
        }
        else
        {
            Exception error = map.Exception?.InnerException ?? new OperationCanceledException();
            Require(error is ObjectDisposedException or IsolateException or OperationCanceledException, $"the map failed with {error.GetType().Name}: {error.Message}");
        }
    }, Budget(3), "pool.close.cancelled", "pool.map.chunkTaken");

    [Test]
    public Task SubmitAsync_PoolDisposedWhileSubmitting_EveryTaskCompletes() => ExploreAsync(12, async seed =>
    {
        IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions
        {
            Size = 2,
            Name = $"submit-{seed}",
            DisposeTimeout = TimeSpan.FromMilliseconds(seed % 3),
            IsolateOptions = new IsolateOptions { WaitForUnload = false },
        });
        var submitted = new ConcurrentQueue<Task<int>>();
        Task[] submitters = [.. Enumerable.Range(0, 2).Select(s => Participants.Start($"submitter-{s}", async () =>
        {
            for (int i = 0; i < 20; i++)
            {
                try
                {
                    submitted.Enqueue(pool.SubmitAsync(static () => 42));
                }
                catch (ObjectDisposedException)
                {
                    return; // refused at once: the pool is closed
                }

                if (i % 4 == 0)
                {
                    await Task.Yield();
                }
            }
        }))];
        Task disposing = Participants.Start("disposer", async () =>
        {
            for (int i = 0; i < seed % 8; i++)
            {
                await Task.Yield();
            }

            await pool.DisposeAsync();
        });
        await Within(disposing, "DisposeAsync");
        await Within(Task.WhenAll(submitters), "the submitters");
        foreach (Task<int> task in submitted)
        {
            await Within(task.ContinueWith(_ => { }, TaskScheduler.Default), "a submitted task (every call completes)");
            Require(
                task.IsCompletedSuccessfully ? task.Result == 42 : task.Exception?.InnerException is ObjectDisposedException or IsolateException || task.IsCanceled,
                $"a submitted task ended {task.Status}: {task.Exception?.InnerException}");
        }
    }, Budget(3), "pool.close.cancelled");

    /// <summary>
    /// The lost wake-up behind PoolLoggingTests' flaky replacement test: Isolate.CreateAsync returns while the new
    /// isolate is still Starting (its thread has not reached its loop), so a submit that found the replacement
    /// published but not yet Running went to sleep on the slot's change signal, which only the next replacement or
    /// the slot's close completes; the isolate turning Running wakes nobody. Holding the replacement's thread before
    /// it turns Running makes that window certain.
    /// </summary>
    [Test]
    [CancelAfter(60_000)]
    public Task SubmitAsync_ReplacementStillStarting_RunsOnTheReplacement() =>
        WithReplacementStartingAsync("submit-starting", pool =>
        {
            Task<int> submitted = pool.SubmitAsync(PoolWork.Square, 7);
            return async () => Assert.That(await submitted, Is.EqualTo(49));
        });

    /// <summary>The same window for a map's driver: with one slot, nothing else drains the source to wake it.</summary>
    [Test]
    [CancelAfter(60_000)]
    public Task MapAsync_ReplacementStillStarting_RunsOnTheReplacement() =>
        WithReplacementStartingAsync("map-starting", pool =>
        {
            Task<IReadOnlyList<int>> map = pool.MapAsync(Enumerable.Range(0, 100), PoolWork.Square);
            return async () => Assert.That(await map, Is.EqualTo(Enumerable.Range(0, 100).Select(i => i * i)));
        });

    /// <summary>
    /// Crashes a one-slot pool's isolate, holds the replacement's thread before it turns Running, starts the work
    /// <paramref name="start"/> gives while the replacement is published but Starting, then lets the thread run:
    /// the work must complete within 10 s, and the check <paramref name="start"/> returned must pass.
    /// </summary>
    private static async Task WithReplacementStartingAsync(string name, Func<IsolatePool, Func<Task>> start)
    {
        await using IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions
        {
            Size = 1,
            Name = name,
            IsolateOptions = new IsolateOptions { WaitForUnload = false },
        });
        await Diagnostics.Poll.Until(() => pool.Isolates is [{ State: IsolateState.Running }], "the first isolate to run");

        bool release = false;
        var hold = new HoldingScheduler("isolate.thread.entered", () => Volatile.Read(ref release), Wait.Timeout);
        using (Isolates.Diagnostics.Interleave.Install(hold))
        {
            Assert.CatchAsync<IsolateClosedException>(() => Wait.Bounded(pool.SubmitAsync(PoolWork.CrashOnMinusOneAsync, -1)));
            await Diagnostics.Poll.Until(() => pool.Replacements == 1 && hold.Held, "the replacement's thread to be held before it runs");
            Require(pool.Isolates is [{ State: IsolateState.Starting }], $"the replacement is published and still Starting: [{string.Join(", ", pool.Isolates)}]");

            Func<Task> check = start(pool); // the work finds the replacement published but Starting
            Volatile.Write(ref release, true); // now it runs: work that went to sleep on the slot is never woken

            Task checking = check();
            Task finished = await Task.WhenAny(checking, Task.Delay(TimeSpan.FromSeconds(10)));
            Require(finished == checking, $"the work did not complete within 10 s of the replacement running: replacements {pool.Replacements}, " +
                $"slots awaiting replacement {pool.SlotsAwaitingReplacement}, isolates [{string.Join(", ", pool.Isolates)}]");
            await checking;
        }
    }
}
