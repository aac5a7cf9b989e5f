using System.Threading.Channels;
using Isolates.Tests.Support;

namespace Isolates.Tests.Channels;

/// <summary>
/// Reads by isolate code at their edges: a wait with a token of the isolate's own that never fires must end when the
/// isolate closes (or the channel's waiter keeps the closed isolate's code alive: UnloadStatus.Leaked), and a read
/// awaited under a context that refuses posts must not end the process.
/// </summary>
[TestFixture]
[CancelAfter(120_000)]
public class IsolateReadEdgeTests
{
    [Test]
    public async Task CloseAsync_IsolateWaitsWithItsOwnUncancelledToken_IsolateUnloads(
        [Values(0, 1, 2, 3)] int mode, [Values(1, 0)] int capacity)
    {
        Channel<int> input = capacity == 0 ? IsolateChannel.CreateUnbounded<int>() : IsolateChannel.CreateBounded<int>(capacity);
        Isolate reader = await Isolate.CreateAsync(new IsolateOptions { Name = $"own-token-reader-{mode}" });
        Task<int> read = reader.CallAsync(Edges.ReadWithOwnTokenAsync, input.Reader, mode);
        await Task.Delay(100); // the read is waiting on the idle channel

        await Wait.Bounded(reader.CloseAsync());

        Assert.That(read.IsFaulted, Is.True, "the call fails with its isolate");
        Assert.That(await Wait.Bounded(reader.Unloaded), Is.EqualTo(UnloadStatus.Unloaded), reader.UnloadDiagnostic);

        // The channel still works for the next reader, and the closed isolate's wait took nothing.
        await input.Writer.WriteAsync(5);
        Assert.That(input.Reader.TryRead(out int item) ? item : -1, Is.EqualTo(5));
        GC.KeepAlive(input);
    }

    [Test]
    public async Task ReadAsync_IsolatesOwnTokenFires_FailsWithThatTokenAndTheChannelKeepsItsNextItem([Values(0, 1, 2)] int mode, [Values(1, 0)] int capacity)
    {
        // The wait is linked with the isolate's closing token; the caller must still see its own token, as from the framework.
        Channel<int> input = capacity == 0 ? IsolateChannel.CreateUnbounded<int>() : IsolateChannel.CreateBounded<int>(capacity);
        await using Isolate reader = await Isolate.CreateAsync(new IsolateOptions { Name = "own-token-cancelled" });

        bool ownToken = await Wait.Bounded(reader.CallAsync(Edges.CancelledByOwnTokenAsync, input.Reader, mode, 100));

        Assert.That(ownToken, Is.True, "OperationCanceledException.CancellationToken is the caller's token");
        await input.Writer.WriteAsync(9);
        Assert.That(input.Reader.TryRead(out int item) ? item : -1, Is.EqualTo(9));
    }

    [Test]
    public async Task ReadAsync_IsolateCodeAwaitsUnderAContextThatRefusesPosts_ProcessSurvivesAndTheItemStaysInTheChannel([Values(1, 0)] int capacity)
    {
        // The take is posted to the awaiting code's context from a thread-pool thread; a context that refuses the post
        // must not throw there (an unhandled exception on a thread-pool thread ends the process), and the item, never
        // taken, stays for the next reader.
        Channel<int> input = capacity == 0 ? IsolateChannel.CreateUnbounded<int>() : IsolateChannel.CreateBounded<int>(capacity);
        await using Isolate reader = await Isolate.CreateAsync(new IsolateOptions { Name = "refusing-context" });
        Assert.That(await Wait.Bounded(reader.CallAsync(Edges.AwaitReadUnderRefusingContext, input.Reader)), Is.Zero, "the read waits");

        await input.Writer.WriteAsync(8);
        await Task.Delay(300); // the wake-up has run on a thread-pool thread

        Assert.That(input.Reader.TryRead(out int item) ? item : -1, Is.EqualTo(8));
        Assert.That(await Wait.Bounded(reader.CallAsync(PoolDisposeWork.Sleep, 1)), Is.EqualTo(1), "the isolate still works");
    }
}
