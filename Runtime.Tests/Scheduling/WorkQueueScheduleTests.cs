using System.Collections.Concurrent;
using Isolates.Dispatcher;
using Isolates.Tests.Support;
using static Isolates.Tests.Scheduling.Schedule;

namespace Isolates.Tests.Scheduling;

/// <summary>
/// The isolate's queue (<see cref="WorkQueue"/>) and <see cref="Isolate.CloseAsync"/> under controlled scheduling:
/// producers racing the consumer's sleep and the close. Invariants: every item is executed or abandoned, exactly once;
/// the consumer never sleeps through an item; every call completes, and has completed once <c>CloseAsync</c> returns.
/// </summary>
[NonParallelizable]
public sealed class WorkQueueScheduleTests
{
    [Test]
    public Task Enqueue_ProducersRacingSleepAndClose_EveryItemExecutedOrAbandonedExactlyOnce() => ExploreAsync(80, async seed =>
    {
        const int PerProducer = 40;
        var queue = new WorkQueue();
        int[] executed = new int[2 * PerProducer];
        int[] abandoned = new int[2 * PerProducer];
        bool closes = seed % 2 == 0;
        Task consumer = Participants.Start("consumer", () =>
        {
            while (queue.Dequeue() is { } item)
            {
                item.Execute();
            }

            return Task.CompletedTask;
        });
        // Without a close, one producer plays ping-pong (a second would wake a consumer that slept through an item).
        Task[] producers = [.. Enumerable.Range(0, closes ? 2 : 1).Select(p => Participants.Start($"producer-{p}", async () =>
        {
            var random = new Random(seed + p);
            for (int i = 0; i < PerProducer; i++)
            {
                int id = (p * PerProducer) + i;
                if (p == 0 && !closes)
                {
                    Thread.SpinWait(random.Next(10_000)); // lands anywhere in the consumer's spin, its going to sleep, or its sleep
                }

                queue.Enqueue(new CountedItem(id, executed, abandoned));
                if (p == 0 && !closes)
                {
                    // Ping-pong: each item is the last one for a while, so a consumer that sleeps through it is caught.
                    var clock = System.Diagnostics.Stopwatch.StartNew();
                    while (Volatile.Read(ref executed[id]) == 0)
                    {
                        await Task.CompletedTask;
                        Require(clock.Elapsed < TimeSpan.FromSeconds(2), $"item {id} was not run within 2 s of its enqueue while the consumer was idle (a lost wake-up)");
                        Thread.Yield();
                    }
                }
                else if ((i + seed) % 5 == 0)
                {
                    await Task.Delay(1); // long enough for the consumer to stop spinning and sleep
                }
            }
        }))];
        Task closer = closes
            ? Participants.Start("closer", async () =>
            {
                for (int i = 0; i < seed % 30; i++)
                {
                    await Task.Yield();
                }

                queue.Close(new InvalidOperationException("closed by the test"));
            })
            : Task.CompletedTask;

        await Within(Task.WhenAll(producers), "the producers");
        await Within(closer, "the close");
        if (!closes)
        {
            // Nothing closes the queue: the consumer must run everything, including items enqueued while it slept.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (executed.Sum() < PerProducer && clock.Elapsed < TimeSpan.FromSeconds(5))
            {
                await Task.Delay(1);
            }

            Require(executed.Sum() == PerProducer, $"the consumer ran {executed.Sum()} of {PerProducer} items and then slept through the rest (a lost wake-up)");
            queue.Close(new InvalidOperationException("done"));
        }

        await Within(consumer, "the consumer (Dequeue returns null once closed)");
        for (int i = 0; i < (closes ? executed.Length : PerProducer); i++)
        {
            Require(executed[i] + abandoned[i] == 1, $"item {i} executed {executed[i]} and abandoned {abandoned[i]} times");
        }
    }, Budget(3), "queue.enqueue.added", "queue.dequeue.sleeping", "queue.close.closed");

    [Test]
    public Task CloseAsync_CallsRacingIt_EveryCallCompletesByTheTimeCloseReturns() => ExploreAsync(25, async seed =>
    {
        Isolate isolate = await Isolate.CreateAsync(new IsolateOptions { Name = $"closing-{seed}", MaxQueuedCalls = seed % 3, WaitForUnload = false });
        var calls = new ConcurrentQueue<(int Value, Task<int> Call, CancellationTokenSource? Cancel)>();
        using var closeStarted = new ManualResetEventSlim();
        Task[] callers = [.. Enumerable.Range(0, 3).Select(c => Participants.Start($"caller-{c}", async () =>
        {
            for (int i = 0; i < 12; i++)
            {
                if (closeStarted.IsSet && i % 3 == 0)
                {
                    await Task.Yield();
                }

                int value = (c * 100) + i;
                CancellationTokenSource? cancel = (value + seed) % 4 == 0 ? new CancellationTokenSource() : null;
                Task<int> call = (value % 3) switch
                {
                    0 => isolate.CallAsync(ScheduleWork.EchoLaterAsync, value, cancel?.Token ?? default),
                    1 => isolate.CallAsync(ScheduleWork.EchoAfterSpin, value, 2_000, cancel?.Token ?? default),
                    _ => isolate.CallAsync(Work.Identity, value, cancel?.Token ?? default),
                };
                calls.Enqueue((value, call, cancel));
                if (cancel is not null && (value & 1) == 0)
                {
                    cancel.Cancel();
                }
            }
        }))];
        Task closing = Participants.Start("closer", async () =>
        {
            for (int i = 0; i < seed % 20; i++)
            {
                await Task.Yield();
            }

            (int Value, Task<int> Call, CancellationTokenSource? Cancel)[] before = [.. calls];
            closeStarted.Set();
            await isolate.CloseAsync();
            int[] pending = [.. before.Where(c => !c.Call.IsCompleted).Select(c => c.Value)];
            Require(pending.Length == 0, $"calls made before CloseAsync still pending after it returned: [{string.Join(", ", pending)}]");
        });
        await Within(closing, "CloseAsync");
        await Within(Task.WhenAll(callers), "the callers");
        foreach ((int value, Task<int> call, CancellationTokenSource? cancel) in calls)
        {
            await Within(call.ContinueWith(_ => { }, TaskScheduler.Default), $"call {value} (every call completes once the isolate is closed)");
            if (call.IsCompletedSuccessfully)
            {
                Require(call.Result == value, $"call {value} returned {call.Result}");
            }
            else if (call.IsCanceled)
            {
                Require(cancel?.IsCancellationRequested == true, $"call {value} was cancelled, but nobody cancelled it");
            }
            else
            {
                Require(call.Exception!.InnerException is IsolateClosedException, $"call {value} failed with {call.Exception.InnerException}");
            }
        }
    }, Budget(3), "isolate.stop.requested", "isolate.loop.dequeued", "queue.close.closed");

    [Test]
    public Task CloseAsync_RacingCancellationOfTokenArguments_EveryCallCompletes() => ExploreAsync(25, async seed =>
    {
        Isolate isolate = await Isolate.CreateAsync(new IsolateOptions { Name = $"tokens-{seed}", WaitForUnload = false });
        var calls = new List<(Task<int> Call, CancellationTokenSource Source, bool AlsoCallToken)>();
        for (int i = 0; i < 6; i++)
        {
            var source = new CancellationTokenSource();
            bool alsoCallToken = (i + seed) % 3 == 0; // the same token cancels the call itself and its argument
            calls.Add((alsoCallToken ? isolate.CallAsync(Work.CountUntilCancelledAsync, source.Token, source.Token) : isolate.CallAsync(Work.CountUntilCancelledAsync, source.Token), source, alsoCallToken));
        }

        Task canceller = Participants.Start("canceller", async () =>
        {
            var random = new Random(seed);
            foreach ((_, CancellationTokenSource source, _) in calls)
            {
                if (random.Next(3) != 0)
                {
                    await Task.Yield();
                    source.Cancel();
                }
            }
        });
        Task closing = Participants.Start("closer", async () =>
        {
            for (int i = 0; i < seed % 12; i++)
            {
                await Task.Yield();
            }

            await isolate.CloseAsync();
        });
        await Within(canceller, "the canceller");
        await Within(closing, "CloseAsync");
        for (int i = 0; i < calls.Count; i++)
        {
            (Task<int> call, CancellationTokenSource source, bool alsoCallToken) = calls[i];
            await Within(call.ContinueWith(_ => { }, TaskScheduler.Default), $"call {i} (token {(source.IsCancellationRequested ? "cancelled" : "not cancelled")}{(alsoCallToken ? ", also the call's token" : "")})");
            // Cancelled also when nobody cancelled: the argument's token is linked to the closing token, and a function that
            // throws on it ends the call as cancelled (accepted, as in CancellationTests.CallAsync_TokenParameterWhenIsolateCloses_IsCancelledToo).
            Exception? error = call.Exception?.InnerException;
            Require(call.IsCanceled || error is IsolateClosedException, $"call {i} ended {call.Status}: {error?.GetType().Name} {error?.Message}");
        }
    }, Budget(3), "isolate.stop.requested", "isolate.track");

    private sealed class CountedItem(int id, int[] executed, int[] abandoned) : WorkItem
    {
        public override void Execute() => Interlocked.Increment(ref executed[id]);

        public override void Abandon(Exception reason) => Interlocked.Increment(ref abandoned[id]);
    }
}
