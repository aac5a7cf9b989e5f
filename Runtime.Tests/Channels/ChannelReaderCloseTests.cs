using System.Threading.Channels;
using Isolates.Tests.Support.Stress;

namespace Isolates.Tests.Channels;

/// <summary>Reductions of what the chaos soak (Stress/ChaosSoakTests) found about isolates that end while they wait to read.</summary>
[TestFixture]
[CancelAfter(60_000)]
public class ChannelReaderCloseTests
{
    /// <summary>
    /// Found by the chaos soak: an isolate closed (or faulted) while its code waits to read a channel the host keeps was
    /// reported Leaked, because the channel keeps the cancelled read's waiter, and with it the isolate's continuation,
    /// until the next write or completion. README ("Closing and unloading") and design.md ("Channels") promise that a
    /// wait pending when the isolate closes is cancelled and the channel does not pin the closed isolate.
    /// </summary>
    [TestCase(16, SoakWork.ReadAsyncMode)] // the lock-free ring
    [TestCase(16, SoakWork.WaitToReadMode)]
    [TestCase(16, SoakWork.ReadAllMode)]
    [TestCase(65_537, SoakWork.ReadAsyncMode)] // the framework's bounded channel
    [TestCase(0, SoakWork.ReadAsyncMode)] // unbounded
    [TestCase(0, SoakWork.WaitToReadMode)]
    public async Task CloseAsync_IsolateWaitingToReadAChannelTheHostKeeps_IsCollected(int capacity, int mode)
    {
        Isolate reader = await Isolate.CreateAsync(new IsolateOptions { Name = "waiting-reader", UnloadTimeout = TimeSpan.FromSeconds(5) });
        Channel<int> numbers = capacity == 0 ? IsolateChannel.CreateUnbounded<int>() : IsolateChannel.CreateBounded<int>(capacity);
        Channel<int> waiting = IsolateChannel.CreateUnbounded<int>();
        Task<int> reading = reader.CallAsync(SoakReductions.SignalThenReadOneAsync, waiting.Writer, numbers.Reader, mode);
        await Wait.Bounded(waiting.Reader.ReadAsync().AsTask());
        await Diagnostics.Poll.Until(() => reader.QueueLength == 0, "the reader to wait on the empty channel");
        await Task.Delay(50);

        await Wait.Bounded(reader.CloseAsync());

        Assert.That(async () => await reading, Throws.InstanceOf<IsolateClosedException>());
        Assert.That(reader.UnloadStatus, Is.EqualTo(UnloadStatus.Unloaded), reader.UnloadDiagnostic);
        GC.KeepAlive(numbers); // the host keeps the channel (and writes to it later, or never)
    }

    /// <summary>
    /// Found by the chaos soak: the same wait, with the call's own <see cref="CancellationToken"/> (the usual shape of a
    /// consumer), leaked the closed isolate: closing abandoned the call and disposed the token's linked source before
    /// the closing token was cancelled, so the call's token was never cancelled and the channel kept the read's waiter.
    /// </summary>
    [TestCase(16)] // the lock-free ring
    [TestCase(65_537)] // the framework's bounded channel
    [TestCase(0)] // unbounded
    public async Task CloseAsync_IsolateWaitingToReadWithTheCallsToken_IsCollected(int capacity)
    {
        Isolate reader = await Isolate.CreateAsync(new IsolateOptions { Name = "waiting-reader", UnloadTimeout = TimeSpan.FromSeconds(5) });
        Channel<int> numbers = capacity == 0 ? IsolateChannel.CreateUnbounded<int>() : IsolateChannel.CreateBounded<int>(capacity);
        Channel<int> waiting = IsolateChannel.CreateUnbounded<int>();
        Task<int> reading = reader.CallAsync(SoakReductions.SignalThenReadOneWithTokenAsync, waiting.Writer, numbers.Reader, CancellationToken.None);
        await Wait.Bounded(waiting.Reader.ReadAsync().AsTask());
        await Diagnostics.Poll.Until(() => reader.QueueLength == 0, "the reader to wait on the empty channel");
        await Task.Delay(50);

        await Wait.Bounded(reader.CloseAsync());

        Assert.That(async () => await reading, Throws.InstanceOf<IsolateClosedException>());
        Assert.That(reader.UnloadStatus, Is.EqualTo(UnloadStatus.Unloaded), reader.UnloadDiagnostic);
        GC.KeepAlive(numbers);
    }
}
