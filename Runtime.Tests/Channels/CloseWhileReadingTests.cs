using System.Threading.Channels;
using Isolates.Tests.Diagnostics;
using Isolates.Tests.Support;

namespace Isolates.Tests.Channels;

/// <summary>
/// An isolate closed while its code reads a channel: every item whose write was accepted reaches either that code or
/// the next reader, exactly once (issue 11, item 2: an item taken for the closing reader was dropped with the
/// continuation that would have received it).
/// </summary>
[TestFixture]
[CancelAfter(120_000)]
public class CloseWhileReadingTests
{
    private const int Items = 300;
    private const int Rounds = 12;

    public enum ReadMode
    {
        ReadAsync = 0,
        ReadAllAsync = 1,
        WaitToReadThenTryRead = 2,
        SelectAsync = 3,
    }

    [Test]
    public async Task CloseAsync_ReaderIsolateMidStream_EveryAcceptedIntArrivesExactlyOnce(
        [Values] ReadMode mode, [Values(1, 4, 64, 0, 70_000)] int capacity)
    {
        // 0: unbounded; 70,000: above the ring's largest capacity, so the framework's bounded channel
        await RoundsAsync(mode, capacity, static i => i, static x => x);
    }

    [Test]
    public async Task CloseAsync_ReaderIsolateMidStream_EveryAcceptedRecordArrivesExactlyOnce(
        [Values] ReadMode mode, [Values(1, 4, 0)] int capacity)
    {
        await RoundsAsync(mode, capacity, static i => new Purchase(i, i / 4m), static p => p.Id);
    }

    [Test]
    public async Task CloseAsync_ReaderIsolateMidStream_EveryAcceptedStringArrivesExactlyOnce(
        [Values] ReadMode mode, [Values(1, 0)] int capacity)
    {
        await RoundsAsync(mode, capacity, static i => i.ToString(System.Globalization.CultureInfo.InvariantCulture), static s => int.Parse(s, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Test]
    public async Task CloseAsync_ItemArrivesWhileReaderIsolateIsBusy_ItemReachesItsCodeOrStaysInTheChannel(
        [Values] ReadMode mode, [Values(1, 0, 70_000)] int capacity, [Values] bool closeDuringA)
    {
        // Forces the interleaving the rounds above only hope for: the item becomes readable while the isolate's thread
        // is busy (call A), so whatever takes it for the waiting reader, and whatever hands it to the reader's code,
        // queues behind A and then behind call B; the isolate is closed while B runs. The item must then be in the
        // output (the reader's code got it) or still in the input, never in neither. Closing during A drops whatever the
        // wake-up queued; closing during B drops what ran in between and queued the hand-over to the reader's code.
        Channel<int> input = capacity == 0 ? IsolateChannel.CreateUnbounded<int>() : IsolateChannel.CreateBounded<int>(capacity);
        Channel<int> output = IsolateChannel.CreateUnbounded<int>();
        Channel<int> idle = IsolateChannel.CreateBounded<int>(1);
        Isolate reader = await Isolate.CreateAsync(new IsolateOptions { Name = $"busy-reader-{mode}" });
        Task forwarding = reader.CallAsync(Edges.ForwardAsync<int>, input.Reader, output.Writer, idle.Reader, (int)mode);
        await Task.Delay(100); // the reader is waiting for an item

        Task callA = reader.CallAsync(Work.Sleep, 300);
        await Task.Delay(50);
        await input.Writer.WriteAsync(7);
        Task callB = reader.CallAsync(Work.Sleep, 600);
        if (!closeDuringA)
        {
            await Wait.Bounded(callA);
            await Task.Delay(100); // B runs; anything the reader's wake-up posted waits behind it
        }

        await Wait.Bounded(reader.CloseAsync());
        await Wait.Bounded(callA);
        Assert.That(closeDuringA ? callB.IsFaulted : callB.IsCompletedSuccessfully, Is.True);

        input.Writer.Complete();
        output.Writer.Complete();
        int[] forwarded = [.. Drain(output.Reader)];
        int[] left = [.. Drain(input.Reader)];
        Assert.That(forwarded.Concat(left), Is.EqualTo(new[] { 7 }), $"forwarded [{string.Join(",", forwarded)}], left in the channel [{string.Join(",", left)}]");
        Assert.That(forwarding.IsCompleted, Is.True);
        Assert.That(reader.UnloadStatus, Is.EqualTo(UnloadStatus.Unloaded));
        GC.KeepAlive(idle);
    }

    [Test]
    public async Task ReadAsync_IsolateBlocksOnTheRead_ItemArrivesWithoutDeadlock([Values(0, 1, 2)] int mode, [Values(1, 0)] int capacity)
    {
        // Taking the item where the awaiting code continues must not mean "only on the isolate's thread": code that
        // blocks that thread on the read (AsTask().Result) continues on the thread that saw the item arrive.
        Channel<int> input = capacity == 0 ? IsolateChannel.CreateUnbounded<int>() : IsolateChannel.CreateBounded<int>(capacity);
        await using Isolate reader = await Isolate.CreateAsync(new IsolateOptions { Name = "blocking-reader" });
        Task<int> read = reader.CallAsync(Edges.ReadBlocking, input.Reader, mode);
        await Task.Delay(100);

        await input.Writer.WriteAsync(41);

        Assert.That(await Wait.Bounded(read), Is.EqualTo(41));
    }

    private static IEnumerable<int> Drain(ChannelReader<int> reader)
    {
        while (reader.TryRead(out int item))
        {
            yield return item;
        }
    }

    private static async Task RoundsAsync<T>(ReadMode mode, int capacity, Func<int, T> make, Func<T, int> id)
    {
        var random = new Random(capacity * 31 + (int)mode);
        for (int round = 0; round < Rounds; round++)
        {
            await OneRoundAsync(mode, capacity, make, id, closeAfter: random.Next(1, Items / 2), round);
        }
    }

    private static async Task OneRoundAsync<T>(ReadMode mode, int capacity, Func<int, T> make, Func<T, int> id, int closeAfter, int round)
    {
        Channel<T> input = capacity == 0 ? IsolateChannel.CreateUnbounded<T>() : IsolateChannel.CreateBounded<T>(capacity);
        Channel<T> output = IsolateChannel.CreateUnbounded<T>();
        Channel<T> idle = IsolateChannel.CreateBounded<T>(1);
        Isolate reader = await Isolate.CreateAsync(new IsolateOptions { Name = $"reader-{mode}-{round}" });

        Task forwarding = reader.CallAsync(Edges.ForwardAsync<T>, input.Reader, output.Writer, idle.Reader, (int)mode);
        int accepted = 0;
        Task writing = Task.Run(async () =>
        {
            for (int i = 0; i < Items; i++)
            {
                await input.Writer.WriteAsync(make(i));
                accepted++;
            }

            input.Writer.Complete();
        });

        // Close while the isolate is busy forwarding: items are being written, taken and handed to its code.
        await Poll.Until(() => output.Reader.Count >= closeAfter || forwarding.IsCompleted, "the reader forwards items");
        await Wait.Bounded(reader.CloseAsync());
        Assert.That(forwarding.IsCompleted, Is.True, "the forwarding call completes when its isolate closes");
        Assert.That(reader.UnloadStatus, Is.EqualTo(UnloadStatus.Unloaded), "no wait left on a channel keeps the closed reader alive");

        // The next reader (the host) takes what the closed one left, while the writer finishes.
        var seen = new List<int>(Items);
        await foreach (T item in input.Reader.ReadAllAsync().WithCancellation(new CancellationTokenSource(Wait.Timeout).Token))
        {
            seen.Add(id(item));
        }

        await Wait.Bounded(writing);
        output.Writer.Complete();
        while (output.Reader.TryRead(out T? item))
        {
            seen.Add(id(item));
        }

        Assert.That(accepted, Is.EqualTo(Items));
        int[] missing = [.. Enumerable.Range(0, Items).Except(seen)];
        int[] duplicated = [.. seen.GroupBy(x => x).Where(g => g.Count() > 1).Select(g => g.Key)];
        Assert.That(missing, Is.Empty, $"round {round}: items accepted but neither forwarded by the closed isolate nor left in the channel (closed after {closeAfter})");
        Assert.That(duplicated, Is.Empty, $"round {round}: items delivered twice");
        Assert.That(seen, Has.Count.EqualTo(Items));
        GC.KeepAlive(idle);
    }
}
