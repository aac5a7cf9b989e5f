using System.Collections.Concurrent;
using System.Reflection;
using System.Threading.Channels;
using Isolates.Channels;
using Isolates.Dispatcher;
using Isolates.Tests.Support;

namespace Isolates.Tests.Channels;

/// <summary>
/// The ring channel's ordering, wake-up and cleanup rules where they could differ from the framework's bounded
/// channel: each test states a behaviour the framework has and the ring keeps (found in review; each failed once).
/// </summary>
[TestFixture]
[CancelAfter(60_000)]
public class RingChannelFairnessTests
{
    /// <summary>A single-threaded context whose thread is blocked (sync over async): posts queue up and never run.</summary>
    private sealed class BlockedThreadContext : SynchronizationContext
    {
        public readonly ConcurrentQueue<(SendOrPostCallback, object?)> Posted = new();

        public override void Post(SendOrPostCallback d, object? state) => Posted.Enqueue((d, state));
    }

    [Test]
    public void WriteAsync_BlockedThenWaitedOnSynchronouslyOnAContextThread_CompletesLikeFrameworkChannel()
    {
        static bool Script(Channel<int> channel)
        {
            channel.Writer.TryWrite(1); // full (capacity 1)
            SynchronizationContext? previous = SynchronizationContext.Current;
            Task write;
            SynchronizationContext.SetSynchronizationContext(new BlockedThreadContext());
            try
            {
                write = channel.Writer.WriteAsync(2).AsTask();
            }
            finally
            {
                SynchronizationContext.SetSynchronizationContext(previous);
            }

            Task.Run(() => channel.Reader.TryRead(out _)); // room, from another thread
            return write.Wait(2_000); // the context's thread blocks here (sync over async)
        }

        bool framework = Script(Channel.CreateBounded<int>(1));
        bool ring = Script(new RingChannel<int>(1));
        Assert.That((framework, ring), Is.EqualTo((true, true)));
    }

    [Test]
    public async Task WriteAsync_SyncOverAsyncInAnIsolate_GoesInOnceThereIsRoom()
    {
        await using Isolate writer = await Isolate.CreateAsync();
        Channel<int> items = IsolateChannel.CreateBounded<int>(1);
        await items.Writer.WriteAsync(1);
        Task<bool> blocking = writer.CallAsync(RingWork.WriteAndBlock, items.Writer, 2, 3_000);
        await Task.Delay(300);
        Assert.That(items.Reader.TryRead(out int first) ? first : -1, Is.EqualTo(1));
        Assert.That(await blocking, Is.True, "the isolate's blocked write should go in once the host made room");
    }

    [Test]
    public async Task TryWrite_WhileAWriteAsyncIsBlocked_DoesNotOvertakeItLikeFrameworkChannel()
    {
        static async Task<string> Script(Channel<int> channel)
        {
            for (int i = 1; i <= 4; i++)
            {
                channel.Writer.TryWrite(i);
            }

            ValueTask blocked = channel.Writer.WriteAsync(5); // waits: full
            channel.Reader.TryRead(out _); // room for one
            bool later = channel.Writer.TryWrite(6); // another producer, after the blocked one
            await blocked.AsTask().WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { });
            var rest = new List<int>();
            while (channel.Reader.TryRead(out int item))
            {
                rest.Add(item);
            }

            return $"TryWrite(6): {later}, then: {string.Join(",", rest)}";
        }

        string framework = await Script(Channel.CreateBounded<int>(4));
        string ring = await Script(new RingChannel<int>(4));
        Assert.That(ring, Is.EqualTo(framework));
    }

    [Test]
    public async Task HostRead_WhileAnotherIsolatesTurnHoldsTheDeferredWake_WakesTheBlockedWriterAtOnce()
    {
        await using Isolate busy = await Isolate.CreateAsync();
        Channel<int> items = IsolateChannel.CreateBounded<int>(8);
        for (int i = 1; i <= 8; i++)
        {
            await items.Writer.WriteAsync(i);
        }

        ValueTask blocked = items.Writer.WriteAsync(9);
        Task<int> reading = busy.CallAsync(RingWork.ReadOneThenStayBusy, items.Reader, 2_500); // 7 left: above half, deferred to its turn's end
        while (items.Reader.Count != 7)
        {
            await Task.Delay(5);
        }

        Assert.That(items.Reader.TryRead(out _), Is.True); // 6 left; a host thread reading "wakes writers at once"
        Task done = blocked.AsTask();
        bool woke = await Task.WhenAny(done, Task.Delay(1_500)) == done;
        await reading;
        Assert.That(woke, Is.True, "the host's read made room but the writer waited for the busy isolate's turn to end");
    }

    [Test]
    public async Task WaitToReadAsync_WithALongLivedToken_LeavesNoRegistrationBehind()
    {
        // A wake that lands between the waiter joining the list and CancelWith registering it unregisters nothing; the
        // registration made afterwards then stays on the token (pinning the waiter and the awaiting state machine).
        using var longLived = new CancellationTokenSource();
        var budget = System.Diagnostics.Stopwatch.StartNew();
        int leaked = 0, rounds = 0;
        while (leaked == 0 && budget.Elapsed < TimeSpan.FromSeconds(2))
        {
            rounds++;
            var ring = new RingChannel<int>(64);
            const int Items = 100_000;
            Task producer = Task.Run(async () =>
            {
                for (int i = 0; i < Items; i++)
                {
                    if (!ring.Writer.TryWrite(i))
                    {
                        await ring.Writer.WriteAsync(i);
                    }

                    Thread.SpinWait(i % 97);
                }

                ring.Writer.Complete();
            });

            int read = 0;
            while (await ring.Reader.WaitToReadAsync(longLived.Token))
            {
                while (ring.Reader.TryRead(out _))
                {
                    read++;
                }
            }

            await producer;
            Assert.That(read, Is.EqualTo(Items));
            leaked = Registrations(longLived);
        }

        Assert.That(leaked, Is.Zero, $"every wait is over, so none may still be registered on the token (after {rounds} rounds)");
    }

    [Test]
    public async Task WaitToReadAsyncTrue_SingleReader_TryReadSucceedsLikeFrameworkChannel()
    {
        var ring = new RingChannel<int>(1024);
        const int Items = 2_000_000;
        Task producer = Task.Run(() =>
        {
            for (int i = 0; i < Items; i++)
            {
                var spin = default(SpinWait);
                while (!ring.Writer.TryWrite(i))
                {
                    spin.SpinOnce();
                }
            }

            ring.Writer.Complete();
        });

        int read = 0, spurious = 0;
        while (await ring.Reader.WaitToReadAsync())
        {
            if (!ring.Reader.TryRead(out _))
            {
                spurious++;
                continue;
            }

            read++;
        }

        await producer;
        Assert.That(read, Is.EqualTo(Items));
        Assert.That(spurious, Is.Zero, "with one reader, WaitToReadAsync returning true promises TryRead an item");
    }

    /// <summary>
    /// Two writes blocked on a full ring, one read: the first goes in, the second stays blocked and its token can still
    /// cancel it, as in the framework (a release once claimed it, found no room and left it uncancellable).
    /// </summary>
    [Test]
    public async Task WriteAsync_SecondBlockedWriteAfterOneRead_CanStillBeCancelledLikeFrameworkChannel()
    {
        static async Task<string> Script(Channel<int> channel)
        {
            channel.Writer.TryWrite(0); // full (capacity 1)
            using var cts = new CancellationTokenSource();
            Task first = channel.Writer.WriteAsync(1).AsTask();
            Task second = channel.Writer.WriteAsync(2, cts.Token).AsTask();
            channel.Reader.TryRead(out _); // room for one: the first goes in
            await first.WaitAsync(TimeSpan.FromSeconds(5));
            cts.Cancel();
            string outcome = await second.WaitAsync(TimeSpan.FromSeconds(2)).ContinueWith(t => t.Status.ToString());
            var rest = new List<int>();
            while (channel.Reader.TryRead(out int item))
            {
                rest.Add(item);
            }

            await Task.Delay(100);
            while (channel.Reader.TryRead(out int item))
            {
                rest.Add(item);
            }

            return $"{outcome} [{string.Join(",", rest)}]";
        }

        string framework = await Script(Channel.CreateBounded<int>(1));
        string ring = await Script(new RingChannel<int>(1));
        Assert.That(ring, Is.EqualTo(framework));
    }

    /// <summary>
    /// A reader on an isolate's thread reads one item from a full ring (three of four left: the room is deferred to the
    /// end of its turn) and completes the channel in the same turn. The framework put the blocked write in at the read,
    /// so it succeeds and its item is read; the ring must not refuse it at completion.
    /// </summary>
    [Test]
    public async Task TryComplete_InTheSameTurnAsARead_DoesNotRefuseTheWriteThatReadMadeRoomForLikeFrameworkChannel()
    {
        static async Task<string> Script(Channel<int> channel)
        {
            for (int i = 1; i <= 4; i++)
            {
                channel.Writer.TryWrite(i);
            }

            Task blocked = channel.Writer.WriteAsync(5).AsTask();
            var turn = new Thread(() =>
            {
                TurnEnd.Begin(); // an isolate's thread, in one turn
                channel.Reader.TryRead(out _);
                channel.Writer.TryComplete(); // e.g. the consumer decides to stop after this item
                TurnEnd.Run();
                TurnEnd.End();
            });
            turn.Start();
            turn.Join();
            string outcome = await blocked.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(t => t.Exception?.InnerException?.GetType().Name ?? t.Status.ToString());
            var rest = new List<int>();
            await foreach (int item in channel.Reader.ReadAllAsync())
            {
                rest.Add(item);
            }

            return $"{outcome} [{string.Join(",", rest)}]";
        }

        string framework = await Script(Channel.CreateBounded<int>(4));
        string ring = await Script(new RingChannel<int>(4));
        Assert.That(ring, Is.EqualTo(framework));
    }

    [Test]
    public async Task Complete_OneWaitersContextRefusesThePost_TheOtherWaitersAreStillReleased()
    {
        // A UI context whose window is gone throws from Post. The framework channel lets that exception out of the
        // operation that completed the waiter; the ring does too, but only after every other waiter got its answer.
        var ring = new RingChannel<int>(1);
        ValueTask<bool> broken;
        SynchronizationContext? previous = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(new RefusingContext());
        try
        {
            broken = ring.Reader.WaitToReadAsync();
            _ = broken.AsTask(); // nothing captured yet: AsTask registers without the context
            ValueTask<bool> capturing = ring.Reader.WaitToReadAsync();
            capturing.GetAwaiter().OnCompleted(() => { }); // captures the refusing context
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(previous);
        }

        Task<bool> healthy = ring.Reader.WaitToReadAsync().AsTask();
        Assert.That(() => ring.Writer.TryComplete(), Throws.InvalidOperationException.With.Message.Contains("refused"));

        Assert.That(await healthy.WaitAsync(TimeSpan.FromSeconds(5)), Is.False, "the healthy waiter learned of the completion");
        Assert.That(await broken.AsTask().WaitAsync(TimeSpan.FromSeconds(5)), Is.False);
        Assert.That(ring.Reader.Completion.IsCompletedSuccessfully, Is.True);
    }

    /// <summary>A synchronization context that refuses every post, like a UI context whose window is gone.</summary>
    private sealed class RefusingContext : SynchronizationContext
    {
        public override void Post(SendOrPostCallback d, object? state) => throw new InvalidOperationException("the context refused the post");
    }

    private static int Registrations(CancellationTokenSource source)
    {
        object? registrations = typeof(CancellationTokenSource).GetField("_registrations", BindingFlags.Instance | BindingFlags.NonPublic)!.GetValue(source);
        if (registrations is null)
        {
            return 0;
        }

        FieldInfo callbacks = registrations.GetType().GetField("Callbacks", BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)!;
        object? node = callbacks.GetValue(registrations);
        int count = 0;
        while (node is not null)
        {
            count++;
            node = node.GetType().GetField("Next", BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)!.GetValue(node);
        }

        return count;
    }
}
