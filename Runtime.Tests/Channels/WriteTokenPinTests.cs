using System.Threading.Channels;
using Isolates.Tests.Support;

namespace Isolates.Tests.Channels;

/// <summary>
/// Isolate code that waits for room on a full host channel with a token of its own that never fires, and its isolate
/// closes: the wait ends with the isolate (as one with no token does), so the channel neither keeps the closed
/// isolate's code alive (UnloadStatus.Leaked) nor puts in, later, the item of a writer that is gone.
/// </summary>
[TestFixture]
[CancelAfter(120_000)]
public class WriteTokenPinTests
{
    [Test]
    public async Task CloseAsync_IsolateWaitsForRoomWithItsOwnUncancelledToken_IsolateUnloadsAndItsItemNeverArrives(
        [Values(0, 1)] int mode, [Values(1, 70_000)] int capacity)
    {
        Channel<int> output = IsolateChannel.CreateBounded<int>(capacity);
        Isolate writer = await Isolate.CreateAsync(new IsolateOptions { Name = $"own-token-writer-{mode}" });
        Task<int> write = writer.CallAsync(Edges.WriteWithOwnTokenAsync, output.Writer, mode);
        await Task.Delay(300); // full, and the write waits for room

        await Wait.Bounded(writer.CloseAsync());

        Assert.That(write.IsFaulted, Is.True);
        Assert.That(await Wait.Bounded(writer.Unloaded), Is.EqualTo(UnloadStatus.Unloaded), writer.UnloadDiagnostic);
        var seen = new List<int>();
        while (output.Reader.TryRead(out int item))
        {
            seen.Add(item);
        }

        await Task.Delay(100);
        while (output.Reader.TryRead(out int item))
        {
            seen.Add(item);
        }

        Assert.That(seen, Does.Not.Contain(-1), "a write whose isolate closed before it was accepted is not put in later");
        GC.KeepAlive(output);
    }
}
