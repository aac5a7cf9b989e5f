using System.Threading.Channels;
using Isolates.Tests.Support;

namespace Isolates.Tests.Channels;

[TestFixture]
[CancelAfter(60_000)]
public class IsolateChannelTests
{
    [Test]
    public async Task CreateBounded_ReaderPassedToIsolate_IsolateReadsItsOwnTypes()
    {
        Isolate billing = await Isolate.CreateAsync(new IsolateOptions { Name = "billing" });
        Channel<Purchase> orders = IsolateChannel.CreateBounded<Purchase>(capacity: 16);

        Task<decimal> total = billing.CallAsync(ChannelWork.SumPurchasesAsync, orders.Reader);
        for (int i = 1; i <= 100; i++)
        {
            await orders.Writer.WriteAsync(new Purchase(i, 0.5m));
        }

        orders.Writer.Complete();

        Assert.That(await Wait.Bounded(total), Is.EqualTo(50m));
        await billing.CloseAsync();
        Assert.That(billing.UnloadStatus, Is.EqualTo(UnloadStatus.Unloaded), "a channel that outlives the isolate must not keep it alive");
        GC.KeepAlive(orders);
    }

    [TestCase(4)]
    [TestCase(65_537)] // above the ring's largest capacity: the framework's bounded channel
    public async Task CloseAsync_IsolateBlockedWritingToAFullChannelTheHostKeeps_IsCollectedAndItsWriteNeverArrives(int capacity)
    {
        // The blocked write's waiter holds the isolate's continuation. Closing the isolate cancels it, so the channel
        // neither pins the closed isolate nor delivers, later, an item whose writer is gone.
        Isolate producer = await Isolate.CreateAsync(new IsolateOptions { Name = "blocked-producer" });
        Channel<int> numbers = IsolateChannel.CreateBounded<int>(capacity);
        for (int i = 0; i < capacity; i++)
        {
            Assert.That(numbers.Writer.TryWrite(-1), Is.True);
        }

        Task producing = producer.CallAsync(ChannelWork.ProduceAsync, numbers.Writer, 1);
        await Diagnostics.Poll.Until(() => producer.QueueLength == 0, "the producer to block on the full channel");
        await Task.Delay(50);

        await Wait.Bounded(producer.CloseAsync());
        Assert.That(async () => await producing, Throws.InstanceOf<IsolateClosedException>());
        Assert.That(producer.UnloadStatus, Is.EqualTo(UnloadStatus.Unloaded), producer.UnloadDiagnostic);

        var left = new List<int>();
        while (numbers.Reader.TryRead(out int item))
        {
            left.Add(item);
        }

        await Task.Delay(100);
        while (numbers.Reader.TryRead(out int item))
        {
            left.Add(item);
        }

        Assert.That(left, Has.Count.EqualTo(capacity).And.All.EqualTo(-1), "the closed isolate's blocked write never went in");
        GC.KeepAlive(numbers);
    }

    [Test]
    public async Task WriterPassedToIsolate_HostReadsEveryItemThenCompletion()
    {
        await using Isolate producer = await Isolate.CreateAsync();
        Channel<int> numbers = IsolateChannel.CreateBounded<int>(capacity: 4);

        Task producing = producer.CallAsync(ChannelWork.ProduceAsync, numbers.Writer, 1_000);
        var received = new List<int>();
        await foreach (int n in numbers.Reader.ReadAllAsync())
        {
            received.Add(n);
        }

        await Wait.Bounded(producing);
        Assert.That(received, Is.EqualTo(Enumerable.Range(0, 1_000)));
    }

    [Test]
    public async Task CompleteWithException_ReaderElsewhereGetsItemsThenClosedWithInner()
    {
        await using Isolate producer = await Isolate.CreateAsync(new IsolateOptions { Name = "quitter" });
        Channel<int> numbers = IsolateChannel.CreateUnbounded<int>();

        await producer.CallAsync(ChannelWork.ProduceThenFailAsync, numbers.Writer);

        Assert.That(await numbers.Reader.ReadAsync(), Is.EqualTo(1), "items written before completion are delivered");
        Assert.That(await numbers.Reader.ReadAsync(), Is.EqualTo(2));
        var closed = Assert.ThrowsAsync<ChannelClosedException>(async () => await numbers.Reader.ReadAsync());
        var inner = closed!.InnerException as IsolateExecutionException;
        Assert.That(inner?.RemoteType, Is.EqualTo(typeof(InvalidOperationException).FullName));
        Assert.That(inner?.Message, Is.EqualTo("producer gave up"));
        Assert.That(inner?.IsolateName, Is.EqualTo("quitter"));
    }

    [Test]
    public async Task CreateBounded_Full_WriterWaitsUntilAnIsolateReads()
    {
        await using Isolate consumer = await Isolate.CreateAsync();
        Channel<int> numbers = IsolateChannel.CreateBounded<int>(capacity: 2);
        await numbers.Writer.WriteAsync(1);
        await numbers.Writer.WriteAsync(2);

        ValueTask third = numbers.Writer.WriteAsync(3);
        Assert.That(third.IsCompleted, Is.False, "a full bounded channel makes the writer wait");
        Assert.That(numbers.Writer.TryWrite(4), Is.False);

        // Reading in the isolate frees room: the waiting writer is woken (by the time the isolate's turn ends at the
        // latest), and its item comes after the first two, whether the isolate read it too or not.
        int read = await consumer.CallAsync(ChannelWork.CountItems, numbers.Reader);
        Assert.That(read, Is.InRange(2, 3));
        await third.AsTask().WaitAsync(Wait.Timeout);
        var rest = new List<int>();
        while (numbers.Reader.TryRead(out int item))
        {
            rest.Add(item);
        }

        Assert.That(rest, Is.EqualTo(read == 2 ? new[] { 3 } : Array.Empty<int>()));
    }

    [Test]
    public async Task WriteAsync_InIsolateToFullEncodedChannel_WaitsUntilTheHostReadsAndKeepsOrder()
    {
        // A reader much slower than the writer must still find every item, in order, with none dropped and the writer
        // neither failed nor finished early.
        await using Isolate producer = await Isolate.CreateAsync();
        Channel<Purchase> purchases = IsolateChannel.CreateBounded<Purchase>(capacity: 2);
        Task writing = producer.CallAsync(FanWork.WriteRangeAsync, purchases.Writer, 0, 5);

        await Task.Delay(200);
        Assert.That(writing.IsCompleted, Is.False, "three of five purchases cannot fit until someone reads");
        Assert.That(purchases.Reader.Count, Is.EqualTo(2));

        var ids = new List<int>();
        while (ids.Count < 5)
        {
            ids.Add((await purchases.Reader.ReadAsync().AsTask().WaitAsync(Wait.Timeout)).Id);
            await Task.Delay(20); // slower than the writer, so later writes wait asynchronously too
        }

        await writing.WaitAsync(Wait.Timeout);
        Assert.That(ids, Is.EqualTo(new[] { 0, 1, 2, 3, 4 }));
    }

    [Test]
    public async Task EncodedItems_InlineAndLargePayloads_ArriveExactlyAndPeekDoesNotConsume()
    {
        Channel<ParcelItem> channel = IsolateChannel.CreateBounded<ParcelItem>(capacity: 8);
        var small = new ParcelItem("a", 1.5m, 2);
        var large = new ParcelItem(new string('x', 500), 79228162514264337593543950335m, int.MinValue); // well past the inline size

        Assert.That(channel.Writer.TryWrite(small), Is.True);
        Assert.That(channel.Writer.TryWrite(large), Is.True);

        Assert.That(channel.Reader.TryPeek(out ParcelItem? peeked), Is.True);
        Assert.That(peeked, Is.EqualTo(small).And.Not.SameAs(small));
        Assert.That(await channel.Reader.ReadAsync(), Is.EqualTo(small));
        Assert.That(await channel.Reader.ReadAsync(), Is.EqualTo(large));
        Assert.That(channel.Reader.TryRead(out _), Is.False);
    }

    [Test]
    public async Task ReadAllAsync_Cancelled_StopsWithOperationCanceledAfterDeliveredItems()
    {
        Channel<ParcelItem> channel = IsolateChannel.CreateBounded<ParcelItem>(capacity: 4);
        await channel.Writer.WriteAsync(new ParcelItem("a", 1m, 1));
        using var cancel = new CancellationTokenSource();
        var seen = new List<string>();

        Assert.That(async () =>
        {
            await foreach (ParcelItem item in channel.Reader.ReadAllAsync(cancel.Token))
            {
                seen.Add(item.Sku);
                await cancel.CancelAsync();
            }
        }, Throws.InstanceOf<OperationCanceledException>());
        Assert.That(seen, Is.EqualTo(new[] { "a" }));
    }

    [Test]
    public async Task CreateBounded_DropOldest_CountsAndReportsEveryDroppedItem()
    {
        var dropped = new System.Collections.Concurrent.ConcurrentQueue<Purchase>();
        Channel<Purchase> orders = IsolateChannel.CreateBounded<Purchase>(new BoundedChannelOptions(2) { FullMode = BoundedChannelFullMode.DropOldest }, dropped.Enqueue);

        for (int i = 0; i < 5; i++)
        {
            Assert.That(orders.Writer.TryWrite(new Purchase(i, i)), Is.True);
        }

        for (int i = 0; i < 100 && dropped.Count < 3; i++)
        {
            await Task.Delay(10);
        }

        Assert.That(IsolateChannel.GetDroppedCount(orders), Is.EqualTo(3));
        Assert.That(dropped.Select(o => o.Id), Is.EquivalentTo(new[] { 0, 1, 2 }));
        Assert.That((await orders.Reader.ReadAsync()).Id, Is.EqualTo(3));
    }

    [Test]
    public async Task Pipeline_ProducerTransformerHost_EveryMessageArrivesOnce()
    {
        const int Count = 20_000;

        (long transformed, long received, long checksum) = await RunPipelineAsync(Count);

        Assert.That(transformed, Is.EqualTo(Count));
        Assert.That(received, Is.EqualTo(Count));
        Assert.That(checksum, Is.EqualTo(SumOfSquaresBelow(Count)));
    }

    [Test]
    public async Task ManyWriterIsolatesAndManyReaderIsolates_EveryItemReadExactlyOnce()
    {
        Isolate[] writers = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => Isolate.CreateAsync(new IsolateOptions { Name = $"writer-{i}" })));
        Isolate[] readers = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => Isolate.CreateAsync(new IsolateOptions { Name = $"reader-{i}" })));
        try
        {
            Channel<Purchase> channel = IsolateChannel.CreateBounded<Purchase>(32);
            const int PerWriter = 2_000;
            Task<long>[] draining = [.. readers.Select(r => r.CallAsync(FanWork.DrainIdsAsync, channel.Reader))];
            await Wait.Bounded(Task.WhenAll(writers.Select((w, i) => w.CallAsync(FanWork.WriteRangeAsync, channel.Writer, i * PerWriter, PerWriter))));
            channel.Writer.Complete();

            long[] sums = await Wait.Bounded(Task.WhenAll(draining));

            long total = 3L * PerWriter;
            Assert.That(sums.Sum(), Is.EqualTo(total * (total - 1) / 2), "no item lost or read twice");
        }
        finally
        {
            await Task.WhenAll(writers.Concat(readers).Select(i => i.CloseAsync()));
        }
    }

    [Test]
    public async Task ChannelOfChannelEnds_ReplyArrivesOnTheSentEnd()
    {
        await using Isolate server = await Isolate.CreateAsync(new IsolateOptions { Name = "server" });
        Channel<ChannelWriter<string>> requests = IsolateChannel.CreateUnbounded<ChannelWriter<string>>();
        Task serving = server.CallAsync(ChannelWork.ReplyOnEachAsync, requests.Reader);

        Channel<string> reply = IsolateChannel.CreateBounded<string>(1);
        await requests.Writer.WriteAsync(reply.Writer);

        Assert.That(await reply.Reader.ReadAsync().AsTask().WaitAsync(Wait.Timeout), Is.EqualTo("hello from server"));
        requests.Writer.Complete();
        await Wait.Bounded(serving);
    }

    [Test]
    public async Task ChannelMadeInsideIsolate_ReturnedAsResult_HostReadsIt()
    {
        await using Isolate maker = await Isolate.CreateAsync();

        ChannelReader<int> reader = await maker.CallAsync(ChannelWork.MakeChannelInside, 5);

        Assert.That(await reader.ReadAllAsync().ToListAsync(), Is.EqualTo(new[] { 0, 1, 2, 3, 4 }));
    }

    [Test]
    public async Task IsolateHoldingWriterFaults_ReaderLearnsWhichIsolate()
    {
        Isolate producer = await Isolate.CreateAsync(new IsolateOptions { Name = "fragile" });
        Channel<int> numbers = IsolateChannel.CreateUnbounded<int>();

        await producer.CallAsync(ChannelWork.WriteOneThenCrashAsync, numbers.Writer);

        Assert.That(await numbers.Reader.ReadAsync(), Is.EqualTo(1));
        var closed = Assert.ThrowsAsync<ChannelClosedException>(async () => await numbers.Reader.ReadAsync().AsTask().WaitAsync(Wait.Timeout));
        Assert.That(closed!.InnerException, Is.TypeOf<IsolateClosedException>());
        Assert.That(closed.InnerException!.Message, Does.Contain("fragile"));
    }

    [Test]
    public void CreateBounded_NotShareableElementType_ThrowsAtCreation()
    {
        var error = Assert.Throws<NotShareableException>(() => IsolateChannel.CreateBounded<Order>(4));

        Assert.That(error!.Message, Does.Contain("Order.Stream").And.Contain("Stream"));
    }

    [Test]
    public async Task ForeignChannelEnd_AsArgument_FailsBeforeSending()
    {
        await using Isolate iso = await Isolate.CreateAsync();
        Channel<int> plain = Channel.CreateBounded<int>(1);

        var error = Assert.ThrowsAsync<NotShareableException>(() => iso.CallAsync(ChannelWork.CountItems, plain.Reader));

        Assert.That(error!.Message, Does.Contain("not created by IsolateChannel"));
    }

    [Test]
    public async Task SelectAsync_ReturnsFirstAvailableWithItsReader()
    {
        Channel<int> a = IsolateChannel.CreateUnbounded<int>();
        Channel<int> b = IsolateChannel.CreateUnbounded<int>();
        ChannelReader<int>[] readers = [a.Reader, b.Reader];

        ValueTask<Selected<int>> pending = IsolateChannel.SelectAsync(readers);
        Assert.That(pending.IsCompleted, Is.False);
        await b.Writer.WriteAsync(42);
        Selected<int> selected = await pending.AsTask().WaitAsync(Wait.Timeout);

        Assert.That((selected.Item, selected.Index), Is.EqualTo((42, 1)));
        Assert.That(selected.Reader, Is.SameAs(b.Reader));
    }

    [Test]
    public void SelectAsync_AllCompletedOrTimeout_FailsClearly()
    {
        Channel<int> a = IsolateChannel.CreateUnbounded<int>();
        Channel<int> b = IsolateChannel.CreateUnbounded<int>();

        Assert.ThrowsAsync<TimeoutException>(async () => await IsolateChannel.SelectAsync([a.Reader, b.Reader], TimeSpan.FromMilliseconds(50)));
        a.Writer.Complete();
        b.Writer.Complete();
        Assert.ThrowsAsync<ChannelClosedException>(async () => await IsolateChannel.SelectAsync([a.Reader, b.Reader]));
        Assert.ThrowsAsync<ArgumentException>(async () => await IsolateChannel.SelectAsync(Array.Empty<ChannelReader<int>>()));
    }

    [Test]
    public void Shareable_IsShareable_FollowsTheRules()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Shareable.IsShareable<int>(), Is.True);
            Assert.That(Shareable.IsShareable<Purchase>(), Is.True);
            Assert.That(Shareable.IsShareable<ChannelReader<Purchase>>(), Is.True);
            Assert.That(Shareable.IsShareable<Stream>(), Is.False);
            Assert.That(Shareable.IsShareable<Order>(), Is.False);
            Assert.That(Shareable.IsShareable((object?)null), Is.True);
            Assert.That(Shareable.IsShareable(new Purchase(1, 1m)), Is.True);
            Assert.That(Shareable.IsShareable(IsolateChannel.CreateUnbounded<int>().Reader), Is.True);
            Assert.That(Shareable.IsShareable(new MemoryStream()), Is.False);
        });
        Assert.Throws<NotShareableException>(Shareable.EnsureShareable<Order>);
    }

    [Test]
    [Category("Stress")]
    public async Task Pipeline_MillionMessagesThroughCapacity64_ExactCountAndChecksum()
    {
        const int Count = 1_000_000;

        (long transformed, long received, long checksum) = await RunPipelineAsync(Count);

        Assert.That(transformed, Is.EqualTo(Count));
        Assert.That(received, Is.EqualTo(Count));
        Assert.That(checksum, Is.EqualTo(SumOfSquaresBelow(Count)));
    }

    private static long SumOfSquaresBelow(long count)
    {
        long sum = 0;
        for (long i = 0; i < count; i++)
        {
            sum += i * i;
        }

        return sum;
    }

    /// <summary>Producer isolate -> bounded channel (64) -> transformer isolate (squares) -> bounded channel (64) -> host.</summary>
    private static async Task<(long Transformed, long Received, long Checksum)> RunPipelineAsync(int count)
    {
        await using Isolate producer = await Isolate.CreateAsync(new IsolateOptions { Name = "producer" });
        await using Isolate transformer = await Isolate.CreateAsync(new IsolateOptions { Name = "transformer" });
        Channel<int> raw = IsolateChannel.CreateBounded<int>(64);
        Channel<long> squares = IsolateChannel.CreateBounded<long>(64);

        Task producing = producer.CallAsync(ChannelWork.ProduceAsync, raw.Writer, count);
        Task<long> transforming = transformer.CallAsync(ChannelWork.SquareAllAsync, raw.Reader, squares.Writer);
        long received = 0, checksum = 0;
        while (await squares.Reader.WaitToReadAsync())
        {
            while (squares.Reader.TryRead(out long square))
            {
                received++;
                checksum += square;
            }
        }

        await Wait.Bounded(producing);
        return (await Wait.Bounded(transforming), received, checksum);
    }
}
