using System.Diagnostics;
using System.Threading.Channels;
using Isolates.Tests.Support;

namespace Isolates.Tests.Processes;

/// <summary>
/// Who reads the pipe. In the child, the isolate's thread reads it while idle and a background reader takes it over
/// while the thread stays busy (ChildPipeReader); in the host, the reader completes calls on its own thread and a
/// standby takes the pipe over while a continuation keeps it away (ChildLink). These tests make the thread that
/// holds the pipe stay away, and check that Cancel, Close, channel frames, answers and kills still get through.
/// </summary>
[TestFixture]
[CancelAfter(120_000)]
public class ChildProcessPipeRoleTests
{
    private static Task<Isolate> ChildAsync(string name, TimeSpan? closeTimeout = null) =>
        Isolate.CreateAsync(new IsolateOptions
        {
            Name = name,
            Placement = IsolatePlacement.ChildProcess,
            CloseTimeout = closeTimeout ?? TimeSpan.FromSeconds(10),
        });

    [Test]
    public async Task Cancel_CallQueuedBehindBusyCall_ReachesChildAndCallNeverRuns()
    {
        Isolate iso = await ChildAsync("cancel-behind-busy");
        try
        {
            Assert.That(await iso.CallAsync(ChildPipeRoleWork.Marks), Is.EqualTo(0));
            Task<int> busy = iso.CallAsync(ChildPipeRoleWork.BusyFor, 500);
            await Task.Delay(50); // the isolate's thread is in the busy call: the background reader holds the pipe
            using var cancel = new CancellationTokenSource();
            Task<int> queued = iso.CallAsync(ChildPipeRoleWork.Mark, cancel.Token);
            await Task.Delay(20); // the call frame is in the child's queue
            await cancel.CancelAsync();

            Assert.CatchAsync<OperationCanceledException>(() => Wait.Bounded(queued));
            Assert.That(await Wait.Bounded(busy), Is.EqualTo(500));
            Assert.That(await Wait.Bounded(iso.CallAsync(ChildPipeRoleWork.Marks)), Is.EqualTo(0), "the Cancel frame was read during the busy call, so the queued call never ran");
        }
        finally
        {
            await iso.CloseAsync();
        }
    }

    [Test]
    public async Task CloseAsync_DuringCallThatNeverYieldsTheThread_CloseFrameArrivesAndChildClosesCleanly()
    {
        Isolate iso = await ChildAsync("close-during-busy", closeTimeout: TimeSpan.FromSeconds(30));
        Task<string> busy = iso.CallAsync(ChildPipeRoleWork.BusyUntilClosing, 60_000);
        await Task.Delay(100);

        var watch = Stopwatch.StartNew();
        await Wait.Bounded(iso.CloseAsync());
        IsolateExit exit = await Wait.Bounded(iso.Exited);
        Assert.Multiple(() =>
        {
            Assert.That(exit.Reason, Is.EqualTo(IsolateExitReason.Closed), exit.Diagnostic);
            Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)), "the close reached the busy child (not the kill after CloseTimeout)");
            Assert.That(busy.IsCompleted, Is.True);
        });
        if (busy.IsCompletedSuccessfully)
        {
            Assert.That(busy.Result, Is.EqualTo("closing seen"));
        }
        else
        {
            Assert.CatchAsync<IsolateClosedException>(() => busy);
        }
    }

    [Test]
    public async Task ChannelCredit_DuringCallThatNeverYieldsTheThread_WriterGetsItAndEveryItemArrives()
    {
        Isolate iso = await ChildAsync("credit-during-busy");
        try
        {
            Channel<int> channel = IsolateChannel.CreateBounded<int>(4); // a window of 4: the writer needs credit back 50 times
            Task<int> writing = iso.CallAsync(ChildPipeRoleWork.WriteWithoutYielding, channel.Writer, 200);
            var received = new List<int>();
            while (received.Count < 200)
            {
                received.Add(await Wait.Bounded(channel.Reader.ReadAsync().AsTask()));
            }

            Assert.That(await Wait.Bounded(writing), Is.EqualTo(200));
            Assert.That(received, Is.EqualTo(Enumerable.Range(0, 200)));
        }
        finally
        {
            await iso.CloseAsync();
        }
    }

    [Test]
    public async Task KillAsync_AroundTheChildsHandOverOfThePipe_EveryCallFailsClosedAndProcessGone([Values(0, 1, 2, 4)] int delayMilliseconds)
    {
        Isolate iso = await ChildAsync("kill-at-hand-over");
        int pid = iso.ProcessId!.Value;
        Assert.That(await iso.CallAsync(ChildWork.Add, 1, 2), Is.EqualTo(3)); // the isolate's thread reads the pipe
        Task<int> busy = iso.CallAsync(ChildPipeRoleWork.BusyFor, 5_000);
        Task<int> queued = iso.CallAsync(ChildWork.Add, 3, 4);
        Thread.Sleep(delayMilliseconds); // around the background reader's take-over (after 1-2 ms of a busy thread)

        await Wait.Bounded(iso.KillAsync());
        IsolateExit exit = await Wait.Bounded(iso.Exited);
        Assert.Multiple(() =>
        {
            Assert.CatchAsync<IsolateClosedException>(() => busy);
            Assert.CatchAsync<IsolateClosedException>(() => queued);
            Assert.That(exit.Reason, Is.EqualTo(IsolateExitReason.Killed));
            Assert.That(OsProcesses.Gone(pid), Is.True);
        });
    }

    [Test]
    public async Task Answer_ContinuationsBlockOnFurtherCallsTwoDeep_StandbysReadTheirAnswers()
    {
        Isolate iso = await ChildAsync("blocking-continuations");
        try
        {
            // Each continuation runs where its call completed (the host's pipe reader) and blocks on the next call's
            // answer: only a standby taking the pipe over can read it, and the second needs a standby started anew.
            Task<int> chain = iso.CallAsync(ChildWork.Add, 1, 2).ContinueWith(
                first => iso.CallAsync(ChildWork.Add, first.Result, 3).ContinueWith(
                    second => iso.CallAsync(ChildWork.Add, second.Result, 4).GetAwaiter().GetResult(),
                    CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).GetAwaiter().GetResult(),
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

            Assert.That(await Wait.Bounded(chain), Is.EqualTo(10));
            Assert.That(await Wait.Bounded(iso.CallAsync(ChildWork.Add, 5, 6)), Is.EqualTo(11), "the pipe is still read afterwards");
        }
        finally
        {
            await iso.CloseAsync();
        }
    }

    [Test]
    public async Task KillAsync_WhileAContinuationKeepsTheReaderAway_PendingCallsFailClosed()
    {
        Isolate iso = await ChildAsync("kill-reader-away");
        using var release = new ManualResetEventSlim();
        Task held = iso.CallAsync(ChildWork.Add, 1, 2).ContinueWith(
            _ => release.Wait(TimeSpan.FromSeconds(20)), // keeps the thread that completed the call
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        Task<int> pending = iso.CallAsync(ChildPipeRoleWork.BusyFor, 5_000);
        await Task.Delay(20);

        await Wait.Bounded(iso.KillAsync());
        Assert.Multiple(async () =>
        {
            Assert.CatchAsync<IsolateClosedException>(() => Wait.Bounded(pending));
            Assert.That((await Wait.Bounded(iso.Exited)).Reason, Is.EqualTo(IsolateExitReason.Killed));
        });
        release.Set();
        await Wait.Bounded(held);
    }

    [Test]
    public async Task CallAsync_ManyShortAndLongCallsInterleaved_EveryAnswerArrivesInOrder()
    {
        Isolate iso = await ChildAsync("mixed-lengths");
        try
        {
            // Long calls make the background reader take the pipe over; the short ones after them make the isolate's
            // thread ask for it back: hand-overs both ways, many times.
            var calls = new List<Task<int>>();
            for (int i = 0; i < 40; i++)
            {
                calls.Add(i % 4 == 0 ? iso.CallAsync(ChildPipeRoleWork.BusyFor, 3) : iso.CallAsync(ChildWork.Add, i, 0));
                if (i % 7 == 0)
                {
                    await calls[^1];
                }
            }

            int[] results = await Wait.Bounded(Task.WhenAll(calls));
            Assert.That(results, Is.EqualTo(Enumerable.Range(0, 40).Select(i => i % 4 == 0 ? 3 : i)));
        }
        finally
        {
            await iso.CloseAsync();
        }
    }
}
