using System.Collections.Concurrent;
using Isolates.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Isolates.Tests.Diagnostics;

[TestFixture]
[CancelAfter(60_000)]
public class ExitWatchTests
{
    [Test]
    public async Task Watch_IsolateClosed_FiresOnceWithClosedAndUnloaded()
    {
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Name = "watched" });
        var exits = new ConcurrentQueue<IsolateExit>();
        var fired = new TaskCompletionSource<IsolateExit>(TaskCreationOptions.RunContinuationsAsynchronously);
        using IDisposable watch = iso.Watch(exit =>
        {
            exits.Enqueue(exit);
            fired.TrySetResult(exit);
        });

        await Wait.Bounded(iso.CloseAsync());
        IsolateExit reported = await Wait.Bounded(fired.Task);
        await Task.Delay(100); // room for a second (wrong) notification

        Assert.Multiple(() =>
        {
            Assert.That(exits, Has.Count.EqualTo(1));
            Assert.That(reported.Reason, Is.EqualTo(IsolateExitReason.Closed));
            Assert.That(reported.Isolate, Is.SameAs(iso));
            Assert.That(reported.Fault, Is.Null);
            Assert.That(reported.UnloadStatus, Is.EqualTo(UnloadStatus.Unloaded));
            Assert.That(iso.Exited.Result, Is.SameAs(reported), "every watcher gets the same exit");
        });
    }

    [Test]
    public async Task Exited_IsolateFaults_CompletesWithFaultedAndTheException()
    {
        Isolate iso = await Isolate.CreateAsync();
        var exits = new ConcurrentQueue<IsolateExit>();
        using IDisposable watch = iso.Watch(exits.Enqueue);

        await iso.CallAsync(Failing.StartAsyncVoidThatThrows);
        IsolateExit exit = await Wait.Bounded(iso.Exited);
        await Poll.Until(() => !exits.IsEmpty);
        await Task.Delay(100);

        Assert.Multiple(() =>
        {
            Assert.That(exit.Reason, Is.EqualTo(IsolateExitReason.Faulted));
            Assert.That(exit.Fault, Is.Not.Null);
            Assert.That(exit.Fault!.Message, Is.EqualTo(iso.Completion.Exception!.InnerException!.Message));
            Assert.That(exits, Has.Count.EqualTo(1));
            Assert.That(exit.ToString(), Does.Contain("Faulted"));
        });
        await Wait.Bounded(iso.CloseAsync());
    }

    [Test]
    public async Task Watch_AfterIsolateEnded_FiresOnceAsynchronously()
    {
        Isolate iso = await Isolate.CreateAsync();
        await Wait.Bounded(iso.CloseAsync());
        using var watchReturned = new ManualResetEventSlim();
        var fired = new TaskCompletionSource<(IsolateExitReason Reason, bool AfterWatchReturned)>(TaskCreationOptions.RunContinuationsAsynchronously);
        int calls = 0;

        using IDisposable watch = iso.Watch(exit =>
        {
            Interlocked.Increment(ref calls);
            fired.TrySetResult((exit.Reason, watchReturned.Wait(TimeSpan.FromSeconds(10))));
        });
        watchReturned.Set();

        (IsolateExitReason reason, bool afterWatchReturned) = await Wait.Bounded(fired.Task);
        await Task.Delay(100);
        Assert.Multiple(() =>
        {
            Assert.That(reason, Is.EqualTo(IsolateExitReason.Closed));
            Assert.That(afterWatchReturned, Is.True, "the callback is queued, never run inline inside Watch");
            Assert.That(calls, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Watch_DisposedBeforeExit_NeverFires()
    {
        Isolate iso = await Isolate.CreateAsync();
        int calls = 0;
        IDisposable watch = iso.Watch(_ => Interlocked.Increment(ref calls));

        watch.Dispose();
        await Wait.Bounded(iso.CloseAsync());
        await Wait.Bounded(iso.Exited);
        await Task.Delay(100);

        Assert.That(calls, Is.Zero);
    }

    [Test]
    public async Task Exited_CloseGivesUpOnBusyThread_ReportsStuckOnceEvenWhenTheThreadReturnsLater()
    {
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { CloseTimeout = TimeSpan.FromMilliseconds(100) });
        int calls = 0;
        using IDisposable watch = iso.Watch(_ => Interlocked.Increment(ref calls));
        System.Threading.Channels.Channel<int> signal = IsolateChannel.CreateUnbounded<int>();
        Task blocked = iso.CallAsync(TelemetryWork.BlockUntilSignalled, signal.Reader);
        await Poll.Until(() => iso.QueueLength == 0);

        await Wait.Bounded(iso.CloseAsync());
        IsolateExit exit = await Wait.Bounded(iso.Exited);
        signal.Writer.TryWrite(1);
        await Wait.Bounded(iso.Completion); // the thread returns and the isolate finishes closing
        await Wait.Bounded(iso.Unloaded);
        await Task.Delay(200);

        Assert.Multiple(() =>
        {
            Assert.That(exit.Reason, Is.EqualTo(IsolateExitReason.Stuck));
            Assert.That(exit.Diagnostic, Does.Contain("did not stop"));
            Assert.That(calls, Is.EqualTo(1));
        });
        Assert.That(blocked.IsCompleted);
    }

    [Test]
    public async Task Exited_ContextLeaks_ReportsUnloadFailed()
    {
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { UnloadTimeout = TimeSpan.FromMilliseconds(300) });
        await iso.CallAsync(Failing.LeakIntoSharedEvent);

        await Wait.Bounded(iso.CloseAsync());
        IsolateExit exit = await Wait.Bounded(iso.Exited);

        Assert.Multiple(() =>
        {
            Assert.That(exit.Reason, Is.EqualTo(IsolateExitReason.UnloadFailed));
            Assert.That(exit.UnloadStatus, Is.EqualTo(UnloadStatus.Leaked));
            Assert.That(exit.Diagnostic, Does.Contain("still alive"));
        });
    }

    [Test]
    public async Task WatchAll_SeveralIsolatesEnd_EachReportedOnceUntilDisposed()
    {
        var seen = new ConcurrentDictionary<long, int>();
        IDisposable watch = Isolate.WatchAll(exit => seen.AddOrUpdate(exit.Isolate.Id, 1, (_, n) => n + 1));
        Isolate first = await Isolate.CreateAsync();
        Isolate second = await Isolate.CreateAsync();

        await Wait.Bounded(Task.WhenAll(first.CloseAsync(), second.CloseAsync()));
        await Poll.Until(() => seen.ContainsKey(first.Id) && seen.ContainsKey(second.Id));
        watch.Dispose();
        Isolate third = await Isolate.CreateAsync();
        await Wait.Bounded(third.CloseAsync());
        await Wait.Bounded(third.Exited);
        await Task.Delay(100);

        Assert.Multiple(() =>
        {
            Assert.That(seen[first.Id], Is.EqualTo(1));
            Assert.That(seen[second.Id], Is.EqualTo(1));
            Assert.That(seen.ContainsKey(third.Id), Is.False, "no notification after Dispose");
        });
    }

    [Test]
    public async Task Watch_CallbackThrows_LoggedAndOtherWatchersStillRun()
    {
        var logs = new ListLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs));
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { LoggerFactory = factory });
        var second = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using IDisposable failing = iso.Watch(_ => throw new InvalidOperationException("watcher bug"));
        using IDisposable other = iso.Watch(_ => second.TrySetResult());

        await Wait.Bounded(iso.CloseAsync());

        await Wait.Bounded(second.Task);
        await Poll.Until(() => logs.EventIds.Contains(8), "event 8 (ExitWatcherFailed)");
    }

    [Test]
    public void Watch_NullCallback_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => Isolate.WatchAll(null!));
    }
}
