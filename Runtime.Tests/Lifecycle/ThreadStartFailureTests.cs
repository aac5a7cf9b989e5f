using Isolates.Diagnostics;
using Isolates.Tests.Support;

namespace Isolates.Tests.Lifecycle;

/// <summary>
/// An in-process isolate whose thread cannot start (the process ran out of threads or memory). The facade lists it
/// before its engine starts the thread, so it may have been found through <see cref="Isolate.All"/> and called: it
/// must still end, and everything that waits for it must complete.
/// </summary>
[TestFixture]
[NonParallelizable] // installs the process-wide scheduler
[CancelAfter(60_000)]
public class ThreadStartFailureTests
{
    [Test]
    public async Task CreateAsync_ThreadCannotStart_IsolateEndsClosedAndItsCallsFail()
    {
        const string Name = "thread-cannot-start";
        var scheduler = new FailThreadStart(Environment.CurrentManagedThreadId, Name);
        using (Interleave.Install(scheduler))
        {
            Assert.CatchAsync<OutOfMemoryException>(async () => await Isolate.CreateAsync(new IsolateOptions
            {
                Name = Name,
                BlockedThreadTimeout = TimeSpan.FromSeconds(5), // watched from its listing on
            }), "the creator learns why");
        }

        Isolate? iso = scheduler.Listed;
        Assert.That(iso, Is.Not.Null, "the isolate was listed before its thread was started");
        await Wait.Bounded(iso!.Completion);
        Assert.Multiple(() =>
        {
            Assert.That(iso.State, Is.EqualTo(IsolateState.Closed));
            Assert.That(Isolate.All, Does.Not.Contain(iso));
            Assert.That(iso.InProcess.NeedsWatching, Is.False, "the deadlock watchdog lets go of it");
        });
        Assert.CatchAsync<IsolateClosedException>(() => Wait.Bounded(scheduler.CallBeforeStart!), "a call queued before the failed start fails instead of waiting for a thread that never runs");
        Assert.That((await Wait.Bounded(iso.Exited)).Reason, Is.EqualTo(IsolateExitReason.Closed), "it was listed, so its exit is reported");
        await Wait.Bounded(iso.Unloaded);
        await Wait.Bounded(iso.CloseAsync());
    }

    /// <summary>Makes the creating test thread's <c>Thread.Start</c> fail, after calling the isolate it finds listed.</summary>
    private sealed class FailThreadStart(int threadId, string name) : IInterleaveScheduler
    {
        public Isolate? Listed { get; private set; }

        public Task<int>? CallBeforeStart { get; private set; }

        public void Point(string point)
        {
            if (point != "isolate.thread.starting" || Environment.CurrentManagedThreadId != threadId)
            {
                return;
            }

            Listed = Isolate.All.FirstOrDefault(i => i.Name == name);
            CallBeforeStart = Listed?.CallAsync(ChildWork.Add, 1, 2);
            throw new OutOfMemoryException("Thread failed to start (injected by the test).");
        }
    }
}
