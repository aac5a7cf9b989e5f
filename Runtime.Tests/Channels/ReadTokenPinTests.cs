using System.Threading.Channels;
using Isolates.Tests.Support;

namespace Isolates.Tests.Channels;

/// <summary>
/// Isolate code that waits on an idle host channel with a token of its own that never fires, and its isolate closes:
/// the wait must end with the isolate (as a wait with no token does), or the channel's waiter list keeps the closed
/// isolate's continuation, and so its code, alive (UnloadStatus.Leaked).
/// </summary>
[TestFixture]
[CancelAfter(120_000)]
public class ReadTokenPinTests
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
}
