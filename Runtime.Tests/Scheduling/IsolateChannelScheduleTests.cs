using System.Threading.Channels;
using Isolates.Tests.Diagnostics;
using Isolates.Tests.Support;
using static Isolates.Tests.Scheduling.Schedule;

namespace Isolates.Tests.Scheduling;

/// <summary>
/// Ring channels whose end is held by an isolate that closes at a random moment: an item is never lost between the
/// channel and the closing isolate's code (read by it, or still in the channel), and never put in by a writer that is
/// gone.
/// </summary>
[NonParallelizable]
public sealed class IsolateChannelScheduleTests
{
    /// <summary>
    /// The loss of issue 11: the isolate's <c>ReadAsync</c> took the item from the ring on another thread, and the closing
    /// isolate never ran the code that would receive it, so it was neither forwarded nor left in the channel.
    /// </summary>
    [Test]
    public Task ReadAsync_IsolateClosedWhileItsCodeAwaitsIt_EveryItemForwardedOrStillInTheChannel() =>
        ExploreAsync(30, seed => ForwardUntilClosedAsync(seed, ScheduleWork.ForwardAsync), Budget(3), "isolate.stop.requested", "take.woken");

    /// <summary>
    /// The loss of issue 11 made certain: the isolate's <c>ReadAsync</c> is woken by an item and held just after the wake-up
    /// until the close has begun. It used to take the item there, on a thread-pool thread, and post the result to the
    /// closed queue, which abandoned it; now the take itself is posted, so the abandoned post leaves the item in the channel.
    /// </summary>
    [Test]
    public Task ReadAsync_ItemTakenJustAfterTheCloseBegins_IsForwardedOrLeftInTheChannel() =>
        HoldThenCloseAsync(ScheduleWork.ForwardAsync, "take.woken", "the woken read to reach its hold");

    [Test]
    public Task ReadAllAsync_IsolateClosedWhileItsCodeAwaitsIt_EveryItemForwardedOrStillInTheChannel() =>
        ExploreAsync(30, seed => ForwardUntilClosedAsync(seed, ScheduleWork.ForwardAllAsync), Budget(3), "isolate.stop.requested", "ring.waitRead.listed");

    /// <summary>
    /// The <c>ReadAllAsync</c> loss made certain: the isolate's thread is held inside <c>TryRead</c> (the item already
    /// taken) until the close has closed the queue; the iterator's completion then posts the isolate code's
    /// continuation to the closed queue, which abandons it, and the item is gone.
    /// </summary>
    [Test]
    public Task ReadAllAsync_ItemTakenJustBeforeTheCloseBegins_IsForwardedOrLeftInTheChannel() =>
        HoldThenCloseAsync(ScheduleWork.ForwardAllAsync, "ring.taken", "the isolate's TryRead to reach its hold");

    /// <summary>
    /// Holds the first thread that reaches <paramref name="point"/> while the isolate code forwards item 1, closes the
    /// isolate meanwhile, and then checks that the item reached the isolate code or is still in the channel.
    /// </summary>
    private static async Task HoldThenCloseAsync(Func<ChannelReader<int>, ChannelWriter<int>, Task> forward, string point, string what)
    {
        Channel<int> input = IsolateChannel.CreateBounded<int>(2);
        Channel<int> forwarded = IsolateChannel.CreateUnbounded<int>();
        Isolate isolate = await Isolate.CreateAsync(new IsolateOptions { WaitForUnload = false });
        Task forwarding = isolate.CallAsync(forward, input.Reader, forwarded.Writer);
        await Task.Delay(50); // the isolate code now waits for an item
        bool closeCalled = false;
        var hold = new HoldingScheduler(point, () => Volatile.Read(ref closeCalled), TimeSpan.FromSeconds(2));
        using (Isolates.Diagnostics.Interleave.Install(hold))
        {
            Assert.That(input.Writer.TryWrite(1), Is.True);
            await Poll.Until(() => hold.Held, what);
            Task closing = isolate.CloseAsync(); // stop requested and queue closed before this returns
            Volatile.Write(ref closeCalled, true);
            await Wait.Bounded(closing);
        }

        await Wait.Bounded(forwarding.ContinueWith(_ => { }, TaskScheduler.Default));
        int found = (forwarded.Reader.TryRead(out int item) ? 1 : 0) + (input.Reader.TryRead(out item) ? 1 : 0);
        Assert.That(found, Is.EqualTo(1), "item 1 was accepted by the channel: it must have reached the isolate code or still be in the channel");
    }

    /// <summary>The control: code that takes items itself with <c>TryRead</c> after <c>WaitToReadAsync</c> loses none.</summary>
    [Test]
    public Task WaitToReadAsync_IsolateClosedWhileItsCodeAwaitsIt_EveryItemForwardedOrStillInTheChannel() =>
        ExploreAsync(30, seed => ForwardUntilClosedAsync(seed, ScheduleWork.ForwardWaitingAsync), Budget(3), "isolate.stop.requested", "ring.waitRead.listed");

    [Test]
    public Task WriteAsync_IsolateClosedWhileItsCodeWrites_AcceptedItemsArriveOnceInOrderAndNoneAfterClose() => ExploreAsync(30, async seed =>
    {
        Channel<int> output = IsolateChannel.CreateBounded<int>(1 + (seed % 3));
        Channel<int> acknowledged = IsolateChannel.CreateUnbounded<int>();
        Isolate isolate = await Isolate.CreateAsync(new IsolateOptions { Name = $"writer-{seed}", WaitForUnload = false });
        Task writing = isolate.CallAsync(ScheduleWork.WriteNumbersAsync, output.Writer, acknowledged.Writer);
        var read = new List<int>();
        int closeAfter = seed % 25;
        while (read.Count < closeAfter)
        {
            read.Add(await output.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
        }

        Task closing = Participants.Start("closer", isolate.CloseAsync);
        for (int i = 0; i < seed % 4 && output.Reader.TryRead(out int item); i++)
        {
            read.Add(item); // reads racing the close make room for the blocked write
        }

        await Within(closing, "CloseAsync");
        await Within(writing.ContinueWith(_ => { }, TaskScheduler.Default), "the writing call (every call completes after Close)");
        await Task.Delay(5); // a blocked write that the close failed to cancel would go in about now
        while (output.Reader.TryRead(out int item))
        {
            read.Add(item);
        }

        var acks = new List<int>();
        while (acknowledged.Reader.TryRead(out int ack))
        {
            acks.Add(ack);
        }

        Require(read.SequenceEqual(Enumerable.Range(0, read.Count)), $"items arrive once and in order: [{string.Join(", ", read)}]");
        Require(acks.All(read.Contains), $"every write that returned in the isolate was delivered: acked [{string.Join(", ", acks)}], read [{string.Join(", ", read)}]");
        Require(read.Count - acks.Count <= 1, $"at most the one write in progress at the close went in unacknowledged: acked {acks.Count}, read {read.Count}");
    }, Budget(3), "isolate.stop.requested", "waiter.cancel.flagged");

    /// <summary>
    /// The host writes 0, 1, 2, ... into a small ring that an isolate forwards (with <paramref name="forward"/>) into an
    /// unbounded channel, and closes the isolate at a moment the seed picks. Then every item written must be in exactly
    /// one of the two channels.
    /// </summary>
    private static async Task ForwardUntilClosedAsync(int seed, Func<ChannelReader<int>, ChannelWriter<int>, Task> forward)
    {
        Channel<int> input = IsolateChannel.CreateBounded<int>(1 + (seed % 3));
        Channel<int> forwarded = IsolateChannel.CreateUnbounded<int>();
        Isolate isolate = await Isolate.CreateAsync(new IsolateOptions { Name = $"reader-{seed}", WaitForUnload = false });
        Task forwarding = isolate.CallAsync(forward, input.Reader, forwarded.Writer);
        int written = 0;
        int closeAfter = seed % 25;
        Task? closing = null;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(3))
        {
            if (written == closeAfter && closing is null)
            {
                closing = Participants.Start("closer", isolate.CloseAsync);
            }

            if (input.Writer.TryWrite(written))
            {
                written++;
            }
            else if (closing is not null)
            {
                break; // full, and nobody will read any more
            }
            else
            {
                await Task.Yield();
            }

            if (closing is not null && written > closeAfter + 8)
            {
                break;
            }
        }

        closing ??= isolate.CloseAsync();
        await Within(closing, "CloseAsync");
        await Within(forwarding.ContinueWith(_ => { }, TaskScheduler.Default), "the forwarding call (every call completes after Close)");
        var seen = new List<int>();
        while (forwarded.Reader.TryRead(out int item))
        {
            seen.Add(item);
        }

        while (input.Reader.TryRead(out int item))
        {
            seen.Add(item);
        }

        RingChannelScheduleTests.RequireExactlyOnce(seen, Enumerable.Range(0, written), "items forwarded by the closed isolate or left in its input");
    }
}
