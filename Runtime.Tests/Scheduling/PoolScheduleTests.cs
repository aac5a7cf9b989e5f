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
}
