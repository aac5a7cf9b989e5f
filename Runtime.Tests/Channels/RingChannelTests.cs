using System.Threading.Channels;
using Isolates.Channels;
using Isolates.Tests.Support;

namespace Isolates.Tests.Channels;

/// <summary>
/// The ring behind bounded channels that wait when full. Its observable behaviour is checked against the framework's
/// bounded channel side by side (the same script on both, the same outcomes), then its own rules: no item lost or
/// duplicated under many writers and readers, completion racing with writes, cancellation, and when blocked writers wake.
/// </summary>
[TestFixture]
[CancelAfter(60_000)]
public class RingChannelTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    public static IEnumerable<TestCaseData> CompletionErrors()
    {
        yield return new TestCaseData("none").SetName("{m}(none)");
        yield return new TestCaseData("InvalidOperationException").SetName("{m}(InvalidOperationException)");
        yield return new TestCaseData("OperationCanceledException").SetName("{m}(OperationCanceledException)");
        yield return new TestCaseData("OperationCanceledException with a cancelled token").SetName("{m}(OperationCanceledException, cancelled token)");
        yield return new TestCaseData("ChannelClosedException").SetName("{m}(ChannelClosedException)");
    }

    [TestCaseSource(nameof(CompletionErrors))]
    public async Task Complete_EveryOperationAfterwards_SameOutcomesAsFrameworkBoundedChannel(string error)
    {
        static async Task<List<string>> Script(Channel<int> channel, Exception? completion)
        {
            var seen = new List<string>();
            channel.Writer.TryWrite(1);
            channel.Writer.TryWrite(2);
            channel.Writer.Complete(completion);
            seen.Add($"TryWrite: {channel.Writer.TryWrite(3)}, TryComplete: {channel.Writer.TryComplete()}, Completion: {channel.Reader.Completion.Status}");
            seen.Add("WaitToWrite: " + await Outcome(channel.Writer.WaitToWriteAsync(), completion));
            seen.Add("Write: " + await Outcome(channel.Writer.WriteAsync(4), completion));
            seen.Add("WaitToRead with items: " + await Outcome(channel.Reader.WaitToReadAsync(), completion));
            seen.Add("Read: " + await Outcome(channel.Reader.ReadAsync(), completion));
            seen.Add($"Peek: {channel.Reader.TryPeek(out int peeked)} {peeked}, Count: {channel.Reader.Count}");
            seen.Add("Read last: " + await Outcome(channel.Reader.ReadAsync(), completion));
            seen.Add("WaitToRead drained: " + await Outcome(channel.Reader.WaitToReadAsync(), completion));
            seen.Add("Read drained: " + await Outcome(channel.Reader.ReadAsync(), completion));
            seen.Add($"TryRead drained: {channel.Reader.TryRead(out _)}, Count: {channel.Reader.Count}");
            seen.Add("Completion: " + await Outcome(channel.Reader.Completion, completion));
            return seen;
        }

        List<string> framework = await Script(Channel.CreateBounded<int>(3), Make(error));
        List<string> ring = await Script(new RingChannel<int>(3), Make(error));
        Assert.That(ring, Is.EqualTo(framework));
    }

    [TestCaseSource(nameof(CompletionErrors))]
    public async Task Complete_WhileReadersAndWritersWait_ReleasesThemAsFrameworkBoundedChannelDoes(string error)
    {
        static async Task<List<string>> Script(Func<int, Channel<int>> create, Exception? completion)
        {
            Channel<int> empty = create(2), full = create(2);
            full.Writer.TryWrite(1);
            full.Writer.TryWrite(2);
            ValueTask<bool> waitToRead = empty.Reader.WaitToReadAsync();
            ValueTask<int> read = empty.Reader.ReadAsync();
            ValueTask<bool> waitToWrite = full.Writer.WaitToWriteAsync();
            ValueTask write = full.Writer.WriteAsync(3);
            var seen = new List<string> { $"pending: {!waitToRead.IsCompleted} {!read.IsCompleted} {!waitToWrite.IsCompleted} {!write.IsCompleted}" };
            empty.Writer.Complete(completion);
            full.Writer.Complete(completion);
            seen.Add("WaitToRead: " + await Outcome(waitToRead, completion));
            seen.Add("Read: " + await Outcome(read, completion));
            seen.Add("WaitToWrite: " + await Outcome(waitToWrite, completion));
            seen.Add("Write: " + await Outcome(write, completion));
            seen.Add($"left in the full one: {full.Reader.Count}, Completion of the empty one: " + await Outcome(empty.Reader.Completion, completion));
            return seen;
        }

        List<string> framework = await Script(capacity => Channel.CreateBounded<int>(capacity), Make(error));
        List<string> ring = await Script(capacity => new RingChannel<int>(capacity), Make(error));
        Assert.That(ring, Is.EqualTo(framework));
    }

    [Test]
    public async Task Cancel_PendingOperations_SameOutcomesAsFrameworkBoundedChannelAndChannelKeepsWorking()
    {
        static async Task<List<string>> Script(Func<int, Channel<int>> create)
        {
            Channel<int> empty = create(1), full = create(1);
            full.Writer.TryWrite(7);
            using var cancel = new CancellationTokenSource();
            ValueTask<bool> waitToRead = empty.Reader.WaitToReadAsync(cancel.Token);
            ValueTask<int> read = empty.Reader.ReadAsync(cancel.Token);
            ValueTask<bool> waitToWrite = full.Writer.WaitToWriteAsync(cancel.Token);
            ValueTask write = full.Writer.WriteAsync(8, cancel.Token);
            await cancel.CancelAsync();
            var seen = new List<string>
            {
                "WaitToRead: " + await Outcome(waitToRead, null, cancel.Token),
                "Read: " + await Outcome(read, null, cancel.Token),
                "WaitToWrite: " + await Outcome(waitToWrite, null, cancel.Token),
                "Write: " + await Outcome(write, null, cancel.Token),
                "already cancelled: " + await Outcome(empty.Reader.ReadAsync(cancel.Token), null, cancel.Token) + " / " + await Outcome(full.Writer.WriteAsync(9, cancel.Token), null, cancel.Token),
            };

            // Nothing cancelled went in, and both channels still work.
            seen.Add($"full holds: {(full.Reader.TryRead(out int held) ? held : -1)}, then {full.Reader.TryRead(out _)}");
            ValueTask<int> next = empty.Reader.ReadAsync();
            await empty.Writer.WriteAsync(5);
            seen.Add("after: " + await Outcome(next, null));
            return seen;
        }

        List<string> framework = await Script(capacity => Channel.CreateBounded<int>(capacity));
        List<string> ring = await Script(capacity => new RingChannel<int>(capacity));
        Assert.That(ring, Is.EqualTo(framework));
    }

    [Test]
    public void TryWriteTryReadTryPeekCount_NotPowerOfTwoCapacity_HoldsExactlyCapacityInOrder()
    {
        var ring = new RingChannel<int>(3);
        for (int lap = 0; lap < 5; lap++) // several laps round the ring
        {
            Assert.That(ring.Writer.TryWrite(lap * 10 + 1) && ring.Writer.TryWrite(lap * 10 + 2) && ring.Writer.TryWrite(lap * 10 + 3), Is.True);
            Assert.That(ring.Writer.TryWrite(99), Is.False, "a fourth item does not fit in a ring of three");
            Assert.That(ring.Reader.Count, Is.EqualTo(3));
            Assert.That(ring.Reader.TryPeek(out int peeked) ? peeked : -1, Is.EqualTo(lap * 10 + 1));
            Assert.That(ring.Writer.WaitToWriteAsync().IsCompleted, Is.False, "no room yet");

            var items = new List<int>();
            while (ring.Reader.TryRead(out int item))
            {
                items.Add(item);
            }

            Assert.That(items, Is.EqualTo(new[] { lap * 10 + 1, lap * 10 + 2, lap * 10 + 3 }));
            Assert.That(ring.Reader.Count, Is.Zero);
        }
    }

    [TestCase(1_000, 200_000)]
    [TestCase(10_000_000, 200_000)]
    public void CreateBounded_AnyCapacity_AllocatesAtMostTheRingsSlotsUpFront(int capacity, long maxBytes)
    {
        // The ring allocates its slots up front (72 bytes each for encoded messages); capacities above its maximum,
        // typically "practically unbounded", get the framework's channel, which grows as items come.
        long before = GC.GetAllocatedBytesForCurrentThread();
        Channel<Purchase> channel = IsolateChannel.CreateBounded<Purchase>(capacity);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.That(allocated, Is.LessThan(maxBytes));
        Assert.That(channel.Writer.TryWrite(new Purchase(1, 2m)), Is.True);
        Assert.That(channel.Reader.TryRead(out Purchase? read) ? read.Id : -1, Is.EqualTo(1));
    }

    [Test]
    public async Task WaitToReadAsync_CancelledManyTimesWhileIdle_WaitersDoNotPileUp()
    {
        var ring = new RingChannel<int>(4);
        for (int i = 0; i < 1_000; i++)
        {
            using var cancel = new CancellationTokenSource();
            ValueTask<bool> wait = ring.Reader.WaitToReadAsync(cancel.Token);
            await cancel.CancelAsync();
            Assert.That(async () => await wait, Throws.InstanceOf<OperationCanceledException>());
        }

        Assert.That(ring.Waiting, Is.EqualTo((0, 0)), "cancelled waits must leave the channel's lists");
        ring.Writer.TryWrite(1);
        Assert.That(await ring.Reader.ReadAsync().AsTask().WaitAsync(Patience), Is.EqualTo(1));
    }

    [Test]
    public async Task TryRead_FromAThreadThatIsNoIsolate_WakesABlockedWriterAtOnce()
    {
        var ring = new RingChannel<int>(4);
        for (int i = 0; i < 4; i++)
        {
            Assert.That(ring.Writer.TryWrite(i), Is.True);
        }

        ValueTask blocked = ring.Writer.WriteAsync(4);
        Assert.That(blocked.IsCompleted, Is.False);
        Assert.That(ring.Reader.TryRead(out _), Is.True); // three left: above half, but there is no isolate turn to wait for

        await blocked.AsTask().WaitAsync(Patience);
        Assert.That(ring.Reader.Count, Is.EqualTo(4));
    }

    [Test]
    public async Task TryRead_InAnIsolateThatThenAwaitsSomethingElse_WakesTheBlockedWriterWhenTheTurnEnds()
    {
        // The isolate reads one item (three of four left: above half, so no wake yet) and then waits for a signal that
        // the host sends only after its blocked write went in. Without the wake at the end of the isolate's turn the
        // two would wait for each other forever.
        await using Isolate reader = await Isolate.CreateAsync();
        Channel<int> items = IsolateChannel.CreateBounded<int>(4);
        Channel<int> signal = IsolateChannel.CreateBounded<int>(1);
        for (int i = 1; i <= 4; i++)
        {
            await items.Writer.WriteAsync(i);
        }

        ValueTask blocked = items.Writer.WriteAsync(5);
        Assert.That(blocked.IsCompleted, Is.False);
        Task<int> reading = reader.CallAsync(RingWork.ReadOneThenAwaitSignalAsync, items.Reader, signal.Reader);

        await blocked.AsTask().WaitAsync(Patience);
        await signal.Writer.WriteAsync(100);
        Assert.That(await reading.WaitAsync(Patience), Is.EqualTo(101));
        Assert.That(items.Reader.Count, Is.EqualTo(4));
    }

    [TestCase(1)]
    [TestCase(5)]
    [TestCase(64)]
    public async Task WriteAsyncReadAsync_ManyWritersManyReaders_EveryItemOnceInEachWritersOrder(int capacity)
    {
        const int Writers = 3, Readers = 3, PerWriter = 20_000;
        var ring = new RingChannel<long>(capacity);
        Task[] writers = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            for (int i = 0; i < PerWriter; i++)
            {
                long item = ((long)w << 32) | (uint)i;
                if (!ring.Writer.TryWrite(item))
                {
                    await ring.Writer.WriteAsync(item);
                }
            }
        })).ToArray();
        Task<List<long>>[] readers = Enumerable.Range(0, Readers).Select(r => Task.Run(async () =>
        {
            var got = new List<long>();
            if (r == 0)
            {
                await foreach (long item in ring.Reader.ReadAllAsync())
                {
                    got.Add(item);
                }
            }
            else
            {
                while (true)
                {
                    try
                    {
                        got.Add(await ring.Reader.ReadAsync());
                    }
                    catch (ChannelClosedException)
                    {
                        break;
                    }
                }
            }

            return got;
        })).ToArray();

        await Task.WhenAll(writers).WaitAsync(TimeSpan.FromSeconds(40));
        ring.Writer.Complete();
        List<long>[] read = await Task.WhenAll(readers).WaitAsync(Patience);

        Assert.That(read.Sum(r => r.Count), Is.EqualTo(Writers * PerWriter), "every item exactly once");
        Assert.That(read.SelectMany(r => r).Distinct().Count(), Is.EqualTo(Writers * PerWriter));
        foreach (List<long> one in read)
        {
            foreach (IGrouping<long, long> byWriter in one.GroupBy(item => item >> 32))
            {
                Assert.That(byWriter.Select(item => (int)item), Is.Ordered, "one reader sees one writer's items in the order written");
            }
        }

        Assert.That(ring.Reader.Completion.IsCompletedSuccessfully, Is.True);
    }

    [Test]
    [Category("Stress")]
    [Repeat(20)]
    public async Task Complete_WhileWritersRace_EveryAcceptedItemIsReadBeforeCompletion()
    {
        var ring = new RingChannel<int>(16);
        long accepted = 0;
        Task[] writers = Enumerable.Range(0, 3).Select(_ => Task.Run(async () =>
        {
            try
            {
                for (int i = 0; ; i++)
                {
                    if (!ring.Writer.TryWrite(1))
                    {
                        await ring.Writer.WriteAsync(1);
                    }

                    Interlocked.Increment(ref accepted);
                }
            }
            catch (ChannelClosedException)
            {
                // completed under us: this item was refused, and the writer was told
            }
        })).ToArray();
        Task<long> reading = Task.Run(async () =>
        {
            long sum = 0;
            await foreach (int item in ring.Reader.ReadAllAsync())
            {
                sum += item;
            }

            return sum;
        });

        await Task.Delay(Random.Shared.Next(1, 30));
        ring.Writer.Complete();
        await Task.WhenAll(writers).WaitAsync(Patience);
        long read = await reading.WaitAsync(Patience);
        Assert.That(read, Is.EqualTo(Interlocked.Read(ref accepted)), "an item the channel accepted is never lost, nor one it refused delivered");
        Assert.That(ring.Reader.Completion.IsCompletedSuccessfully, Is.True);
    }

    [Test]
    [Category("Stress")]
    public async Task PingPong_CapacityOneBetweenTwoThreads_NoWakeIsLost()
    {
        var requests = new RingChannel<int>(1);
        var replies = new RingChannel<int>(1);
        Task echo = Task.Run(async () =>
        {
            await foreach (int request in requests.Reader.ReadAllAsync())
            {
                await replies.Writer.WriteAsync(request);
            }
        });

        for (int i = 0; i < 100_000; i++)
        {
            await requests.Writer.WriteAsync(i);
            Assert.That(await replies.Reader.ReadAsync().AsTask().WaitAsync(Patience), Is.EqualTo(i));
        }

        requests.Writer.Complete();
        await echo.WaitAsync(Patience);
    }

    private static Exception? Make(string error) => error switch
    {
        "none" => null,
        "InvalidOperationException" => new InvalidOperationException("producer gave up"),
        "OperationCanceledException" => new OperationCanceledException("stopped"),
        "OperationCanceledException with a cancelled token" => new OperationCanceledException(new CancellationToken(canceled: true)),
        "ChannelClosedException" => new ChannelClosedException("closed by hand"),
        _ => throw new ArgumentOutOfRangeException(nameof(error)),
    };

    private static async Task<string> Outcome(ValueTask operation, Exception? completion, CancellationToken token = default) =>
        await Outcome(operation.AsTask(), completion, token);

    private static async Task<string> Outcome<TResult>(ValueTask<TResult> operation, Exception? completion, CancellationToken token = default)
    {
        try
        {
            return "ok " + await operation.AsTask().WaitAsync(Patience);
        }
        catch (Exception ex) when (ex is not TimeoutException)
        {
            return Describe(ex, completion, token);
        }
    }

    private static async Task<string> Outcome(Task operation, Exception? completion, CancellationToken token = default)
    {
        try
        {
            await operation.WaitAsync(Patience);
            return "ok";
        }
        catch (Exception ex) when (ex is not TimeoutException)
        {
            return Describe(ex, completion, token) + $" (status {operation.Status})";
        }
    }

    private static string Describe(Exception ex, Exception? completion, CancellationToken token) =>
        $"{ex.GetType().Name}" +
        (ex.InnerException is { } inner ? $" inner {inner.GetType().Name}{(ReferenceEquals(inner, completion) ? " (the completion error)" : string.Empty)}" : string.Empty) +
        (ReferenceEquals(ex, completion) ? " (the completion error itself)" : string.Empty) +
        (ex is OperationCanceledException cancelled ? $" token cancelled {cancelled.CancellationToken.IsCancellationRequested}, the caller's {cancelled.CancellationToken == token && token.CanBeCanceled}" : string.Empty);
}
