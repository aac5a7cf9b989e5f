using System.Threading.Channels;
using Isolates.Tests.Support;
using Isolates.Tests.Support.Stress;

namespace Isolates.Tests.Channels;

/// <summary>Reductions of what the chaos soak (Stress/ChaosSoakTests) found about channels completed with an error.</summary>
[TestFixture]
[CancelAfter(60_000)]
public class ChannelErrorUnloadTests
{
    /// <summary>
    /// Found by the chaos soak: a channel completed with an error keeps that one exception object, and every
    /// WaitToReadAsync/WaitToWriteAsync (and ReadAllAsync) on it throws that same object in the isolate that waits. Throwing it
    /// appends the isolate's frames to its stack trace, which references the isolate's code, so the channel (kept by
    /// the host) keeps the closed isolate from unloading. design.md: "the original object never crosses, since its
    /// stack trace would keep the isolate's methods (and so its context) alive".
    /// </summary>
    [TestCase(16, false)] // the lock-free ring
    [TestCase(65_537, false)] // the framework's bounded channel
    [TestCase(0, false)] // unbounded
    [TestCase(16, true)]
    [TestCase(0, true)]
    public async Task CloseAsync_IsolateThatWaitedOnAChannelCompletedWithAnError_IsCollected(int capacity, bool writer)
    {
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Name = "saw-the-error", UnloadTimeout = TimeSpan.FromSeconds(5) });
        Channel<int> numbers = capacity == 0 ? IsolateChannel.CreateUnbounded<int>() : IsolateChannel.CreateBounded<int>(capacity);
        numbers.Writer.Complete(new InvalidOperationException("the producer gave up"));

        string thrown = writer
            ? await Wait.Bounded(iso.CallAsync(SoakReductions.WaitToWriteCatchAsync, numbers.Writer))
            : await Wait.Bounded(iso.CallAsync(SoakReductions.WaitToReadCatchAsync, numbers.Reader));
        await Wait.Bounded(iso.CloseAsync());

        Assert.That(thrown, Is.Not.EqualTo("no exception"));
        Assert.That(iso.UnloadStatus, Is.EqualTo(UnloadStatus.Unloaded), iso.UnloadDiagnostic);
        GC.KeepAlive(numbers);
    }

    /// <summary>The soak's shape: a writer isolate faults, which fails the channel; a reader isolate waiting on it sees the error, then closes.</summary>
    [Test]
    public async Task CloseAsync_ReaderIsolateOfAChannelFailedByAFaultingWriter_IsCollected()
    {
        Isolate producer = await Isolate.CreateAsync(new IsolateOptions { Name = "faulting-writer" });
        Isolate reader = await Isolate.CreateAsync(new IsolateOptions { Name = "reader", UnloadTimeout = TimeSpan.FromSeconds(5) });
        Channel<int> numbers = IsolateChannel.CreateBounded<int>(16);
        Task<string> waiting = reader.CallAsync(SoakReductions.WaitToReadCatchAsync, numbers.Reader);
        await Diagnostics.Poll.Until(() => reader.QueueLength == 0, "the reader to wait");

        Task writing = producer.CallAsync(ChannelWork.WriteOneThenCrashAsync, numbers.Writer);
        Assert.That(await Wait.Bounded(waiting), Is.EqualTo("no exception"), "the item written before the fault comes first");
        while (numbers.Reader.TryRead(out _))
        {
        }

        string thrown = await Wait.Bounded(reader.CallAsync(SoakReductions.WaitToReadCatchAsync, numbers.Reader));
        await Wait.Bounded(reader.CloseAsync());
        await Wait.Bounded(producer.CloseAsync());
        try
        {
            await Wait.Bounded(writing); // it returns before its async void faults the isolate, or fails with the fault
        }
        catch (IsolateException)
        {
        }

        Assert.That(thrown, Is.EqualTo(nameof(IsolateClosedException)));
        Assert.That(reader.UnloadStatus, Is.EqualTo(UnloadStatus.Unloaded), reader.UnloadDiagnostic);
        GC.KeepAlive(numbers);
    }
}
