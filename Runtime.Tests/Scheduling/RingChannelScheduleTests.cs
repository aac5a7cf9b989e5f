using System.Collections.Concurrent;
using System.Threading.Channels;
using Isolates.Channels;
using static Isolates.Tests.Scheduling.Schedule;

namespace Isolates.Tests.Scheduling;

/// <summary>
/// The lock-free ring (<see cref="RingChannel{T}"/>) under controlled scheduling: writers, readers, cancellation and
/// completion racing at every step the ring has a scheduling point for. Invariants: every item whose write succeeded
/// is read exactly once; a write that failed (cancelled, or refused by completion) is never read; every wait ends;
/// nothing is left counted as waiting.
/// </summary>
[NonParallelizable]
public sealed class RingChannelScheduleTests
{
    [Test]
    public Task ReadAndWrite_TwoWritersTwoReadersSmallRing_EveryItemReadExactlyOnce() => ExploreAsync(60, async seed =>
    {
        var ring = new RingChannel<int>(1 + (seed & 3));
        const int PerWriter = 60;
        var read = new ConcurrentBag<int>();
        Task[] writers = [.. Enumerable.Range(0, 2).Select(w => Participants.Start($"writer-{w}", async () =>
        {
            for (int i = 0; i < PerWriter; i++)
            {
                int item = (w * PerWriter) + i;
                if ((item + seed) % 3 == 0)
                {
                    while (!ring.Writer.TryWrite(item))
                    {
                        Require(await ring.Writer.WaitToWriteAsync(), "WaitToWriteAsync said completed before anyone completed");
                    }
                }
                else
                {
                    await ring.Writer.WriteAsync(item);
                }
            }
        }))];
        Task[] readers =
        [
            Participants.Start("reader-0", async () =>
            {
                try
                {
                    while (true)
                    {
                        read.Add(await ring.Reader.ReadAsync());
                    }
                }
                catch (ChannelClosedException)
                {
                }
            }),
            Participants.Start("reader-1", async () =>
            {
                while (await ring.Reader.WaitToReadAsync())
                {
                    if (ring.Reader.TryPeek(out int peeked))
                    {
                        Require(peeked >= 0 && peeked < 2 * PerWriter, $"TryPeek returned {peeked}, which nobody wrote");
                    }

                    while (ring.Reader.TryRead(out int item))
                    {
                        read.Add(item);
                    }
                }
            }),
        ];

        await Within(Task.WhenAll(writers), "the writes");
        ring.Writer.Complete();
        await Within(Task.WhenAll(readers), "the readers");
        await Within(ring.Reader.Completion, "Completion");
        RequireExactlyOnce(read, Enumerable.Range(0, 2 * PerWriter), "items read");
        Require(ring.Waiting == (0, 0), $"waiters left counted: {ring.Waiting}");
    }, Budget(3), "ring.write.claimed", "ring.read.claimed", "ring.waitRead.listed", "ring.block.listed", "ring.written", "ring.taken");

    [Test]
    public Task WriteAsync_BlockedWritesCancelledAtRandomMoments_CancelledNeverReadSucceededReadOnce() => ExploreAsync(60, async seed =>
    {
        var ring = new RingChannel<int>(1 + (seed & 1));
        const int PerWriter = 40;
        var succeeded = new ConcurrentBag<int>();
        var cancelled = new ConcurrentBag<int>();
        var toCancel = new BlockingCollection<CancellationTokenSource>();
        var read = new ConcurrentBag<int>();
        Task canceller = Participants.Start("canceller", () =>
        {
            var random = new Random(seed);
            foreach (CancellationTokenSource source in toCancel.GetConsumingEnumerable())
            {
                if (random.Next(3) == 0)
                {
                    Thread.Yield();
                    source.Cancel();
                }
            }

            return Task.CompletedTask;
        });
        Task[] writers = [.. Enumerable.Range(0, 2).Select(w => Participants.Start($"writer-{w}", async () =>
        {
            for (int i = 0; i < PerWriter; i++)
            {
                int item = (w * PerWriter) + i;
                var source = new CancellationTokenSource();
                toCancel.Add(source);
                try
                {
                    await ring.Writer.WriteAsync(item, source.Token);
                    succeeded.Add(item);
                }
                catch (OperationCanceledException)
                {
                    cancelled.Add(item);
                }
            }
        }))];
        Task reader = Participants.Start("reader", async () =>
        {
            int n = 0;
            while (await ring.Reader.WaitToReadAsync())
            {
                if (ring.Reader.TryRead(out int item))
                {
                    read.Add(item);
                    if (++n % 3 == 0)
                    {
                        await Task.Yield(); // a slow reader keeps writers blocked, so cancellations find them waiting
                    }
                }
            }
        });

        await Within(Task.WhenAll(writers), "the writes");
        toCancel.CompleteAdding();
        await Within(canceller, "the canceller");
        ring.Writer.Complete();
        await Within(reader, "the reader");
        Require(succeeded.Count + cancelled.Count == 2 * PerWriter, "every write ended as written or cancelled");
        RequireExactlyOnce(read, succeeded, "items read (= writes that succeeded)");
        Require(ring.Waiting == (0, 0), $"waiters left counted: {ring.Waiting}");
    }, Budget(3), "waiter.cancel.flagged", "ring.block.listed", "ring.releaseWriters.taken");

    [Test]
    public Task ReadAsync_ReadsCancelledAtRandomMoments_NoItemLostOrReadTwice() => ExploreAsync(60, async seed =>
    {
        var ring = new RingChannel<int>(1 + (seed & 3));
        const int Count = 100;
        var read = new ConcurrentBag<int>();
        var sources = new ConcurrentQueue<CancellationTokenSource>();
        using var stop = new CancellationTokenSource();
        Task canceller = Participants.Start("canceller", async () =>
        {
            var random = new Random(seed);
            while (!stop.IsCancellationRequested)
            {
                if (sources.TryDequeue(out CancellationTokenSource? source) && random.Next(2) == 0)
                {
                    source.Cancel();
                }

                await Task.Yield();
            }
        });
        Task writer = Participants.Start("writer", async () =>
        {
            for (int i = 0; i < Count; i++)
            {
                await ring.Writer.WriteAsync(i);
                if (i % 7 == 0)
                {
                    await Task.Yield(); // let readers run dry and wait
                }
            }

            ring.Writer.Complete();
        });
        Task[] readers = [.. Enumerable.Range(0, 2).Select(r => Participants.Start($"reader-{r}", async () =>
        {
            while (true)
            {
                var source = new CancellationTokenSource();
                sources.Enqueue(source);
                try
                {
                    if (r == 0)
                    {
                        read.Add(await ring.Reader.ReadAsync(source.Token));
                    }
                    else if (await ring.Reader.WaitToReadAsync(source.Token))
                    {
                        if (ring.Reader.TryRead(out int item))
                        {
                            read.Add(item);
                        }
                    }
                    else
                    {
                        return;
                    }
                }
                catch (OperationCanceledException)
                {
                    // a cancelled read must leave the item for the next read
                }
                catch (ChannelClosedException)
                {
                    return;
                }
            }
        }))];

        await Within(writer, "the writes");
        await Within(Task.WhenAll(readers), "the readers");
        await stop.CancelAsync();
        await Within(canceller, "the canceller");
        RequireExactlyOnce(read, Enumerable.Range(0, Count), "items read");
        Require(ring.Waiting == (0, 0), $"waiters left counted: {ring.Waiting}");
    }, Budget(3), "waiter.cancel.flagged", "ring.waitRead.listed", "ring.read.woken");

    [Test]
    public Task TryComplete_WhileWritersWriteAndBlock_AcceptedItemsReadOnceRefusedNever() => ExploreAsync(80, async seed =>
    {
        var ring = new RingChannel<int>(1 + (seed % 3));
        var accepted = new ConcurrentBag<int>();
        var read = new ConcurrentBag<int>();
        int refusals = 0;
        Exception? error = seed % 2 == 0 ? null : new InvalidOperationException("writer failed");
        Task[] writers = [.. Enumerable.Range(0, 2).Select(w => Participants.Start($"writer-{w}", async () =>
        {
            for (int i = 0; ; i++)
            {
                int item = (w * 1_000_000) + i;
                try
                {
                    if (i % 4 == 3)
                    {
                        if (!ring.Writer.TryWrite(item))
                        {
                            continue;
                        }
                    }
                    else
                    {
                        await ring.Writer.WriteAsync(item);
                    }

                    accepted.Add(item);
                }
                catch (ChannelClosedException)
                {
                    Interlocked.Increment(ref refusals);
                    return;
                }
            }
        }))];
        Task completer = Participants.Start("completer", async () =>
        {
            for (int i = 0; i < seed % 60; i++)
            {
                await Task.Yield(); // complete anywhere from the first write to well into the stream
            }

            Require(ring.Writer.TryComplete(error), "the first TryComplete succeeds");
        });
        Task reader = Participants.Start("reader", async () =>
        {
            try
            {
                while (true)
                {
                    read.Add(await ring.Reader.ReadAsync());
                }
            }
            catch (ChannelClosedException)
            {
            }
        });

        await Within(completer, "the completion");
        await Within(Task.WhenAll(writers), "the writes (blocked ones must be refused or put in)");
        await Within(reader, "the reader");
        Task completion = ring.Reader.Completion;
        await Within(completion.ContinueWith(_ => { }, TaskScheduler.Default), "Completion");
        Require(error is null ? completion.IsCompletedSuccessfully : completion.Exception?.InnerException == error, $"Completion reflects the completion error ({completion.Status})");
        Require(refusals == 2, $"each writer was refused once ({refusals})");
        Require(!ring.Writer.TryWrite(-1), "a write after completion is refused");
        RequireExactlyOnce(read, accepted, "items read (= writes accepted)");
        Require(ring.Waiting == (0, 0), $"waiters left counted: {ring.Waiting}");
    }, Budget(3), "ring.complete.closed", "ring.blocked.claimedTentatively");

    /// <summary>Requires <paramref name="actual"/> to hold each of <paramref name="expected"/> exactly once and nothing else.</summary>
    internal static void RequireExactlyOnce(IEnumerable<int> actual, IEnumerable<int> expected, string what)
    {
        int[] got = [.. actual.Order()];
        int[] want = [.. expected.Order()];
        if (got.SequenceEqual(want))
        {
            return;
        }

        int[] duplicated = [.. got.GroupBy(x => x).Where(g => g.Count() > 1).Select(g => g.Key).Take(10)];
        int[] missing = [.. want.Except(got).Take(10)];
        int[] extra = [.. got.Except(want).Take(10)];
        Require(false, $"{what}: {got.Length} instead of {want.Length}; lost [{string.Join(", ", missing)}], duplicated [{string.Join(", ", duplicated)}], unexpected [{string.Join(", ", extra)}]");
    }
}
