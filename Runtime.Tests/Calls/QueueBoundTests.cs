using System.Threading.Channels;
using Isolates.Tests.Support;

namespace Isolates.Tests.Calls;

/// <summary><see cref="IsolateOptions.MaxQueuedCalls"/>: callers wait for room instead of growing the queue without end.</summary>
[TestFixture]
[CancelAfter(30_000)]
public class QueueBoundTests
{
    [Test]
    public async Task CallAsync_MaxQueuedCallsReached_NextCallWaitsUntilAQueuedCallStartsThenRunsInOrder()
    {
        await using Isolate isolate = await Isolate.CreateAsync(new IsolateOptions { MaxQueuedCalls = 2 });
        Channel<int> signal = IsolateChannel.CreateBounded<int>(1);
        Task running = isolate.CallAsync(TelemetryWork.BlockUntilSignalled, signal.Reader); // holds the thread
        await WaitUntilStartedAsync(isolate);

        Task<int> queued1 = isolate.CallAsync(Counter.Bump);
        Task<int> queued2 = isolate.CallAsync(Counter.Bump);
        Task<int> waiting = isolate.CallAsync(Counter.Bump);
        await Task.Delay(100);
        Assert.That(isolate.QueueLength, Is.EqualTo(2), "the third call is not in the queue");
        Assert.That(waiting.IsCompleted, Is.False);

        await signal.Writer.WriteAsync(1);
        await Wait.Bounded(running);
        Assert.That(await Wait.Bounded(Task.WhenAll(queued1, queued2, waiting)), Is.EqualTo(new[] { 1, 2, 3 }), "every call ran, in the order made");
    }

    [Test]
    public async Task CallAsync_CancelledWhileWaitingForRoom_IsCancelledAndNeverRuns()
    {
        await using Isolate isolate = await Isolate.CreateAsync(new IsolateOptions { MaxQueuedCalls = 1 });
        Channel<int> signal = IsolateChannel.CreateBounded<int>(1);
        Task running = isolate.CallAsync(TelemetryWork.BlockUntilSignalled, signal.Reader);
        await WaitUntilStartedAsync(isolate);
        Task<int> queued = isolate.CallAsync(Counter.Bump);
        using var cancel = new CancellationTokenSource();
        Task<int> waiting = isolate.CallAsync(Counter.Bump, cancel.Token);

        await cancel.CancelAsync();
        Assert.That(async () => await Wait.Bounded(waiting), Throws.InstanceOf<OperationCanceledException>());

        await signal.Writer.WriteAsync(1);
        await Wait.Bounded(running);
        Assert.That(await Wait.Bounded(queued), Is.EqualTo(1));
        Assert.That(await isolate.CallAsync(Counter.Read), Is.EqualTo(1), "the cancelled call never ran");
    }

    [Test]
    public async Task CallAsync_WaitingForRoomWhenTheIsolateCloses_FailsWithIsolateClosed()
    {
        Isolate isolate = await Isolate.CreateAsync(new IsolateOptions { MaxQueuedCalls = 1, CloseTimeout = TimeSpan.FromSeconds(5) });
        Channel<int> signal = IsolateChannel.CreateBounded<int>(1);
        Task running = isolate.CallAsync(TelemetryWork.BlockUntilSignalled, signal.Reader);
        await WaitUntilStartedAsync(isolate);
        Task<int> queued = isolate.CallAsync(Counter.Bump);
        Task<int> waiting = isolate.CallAsync(Counter.Bump);

        Task closing = isolate.CloseAsync();
        Assert.That(async () => await Wait.Bounded(waiting), Throws.InstanceOf<IsolateClosedException>());
        Assert.That(async () => await Wait.Bounded(queued), Throws.InstanceOf<IsolateClosedException>());
        await signal.Writer.WriteAsync(1); // let the running call return so the isolate can finish closing
        await Wait.Bounded(closing);
        Assert.That(running.IsCompleted, Is.True);
    }

    [Test]
    public void CreateAsync_NegativeMaxQueuedCalls_FailsNamingTheOption()
    {
        Assert.That(
            async () => await Isolate.CreateAsync(new IsolateOptions { MaxQueuedCalls = -1 }),
            Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("MaxQueuedCalls"));
    }

    [Test]
    public async Task CallAsync_TokenArgumentCancelledWhileWaitingForRoom_IsCancelledWithoutWaitingForRoom()
    {
        // Without a bound, cancelling a call's CancellationToken *argument* cancels the call at once while it is queued;
        // waiting for room must not change that.
        await using Isolate isolate = await Isolate.CreateAsync(new IsolateOptions { MaxQueuedCalls = 1 });
        Channel<int> signal = IsolateChannel.CreateBounded<int>(1);
        Task running = isolate.CallAsync(TelemetryWork.BlockUntilSignalled, signal.Reader); // holds the thread
        await Diagnostics.Poll.Until(() => isolate.QueueLength == 0, "the blocking call to start");
        Task<int> queued = isolate.CallAsync(Counter.Bump);
        using var cts = new CancellationTokenSource();
        Task<int> waiting = isolate.CallAsync(Work.CountUntilCancelledAsync, cts.Token);

        await cts.CancelAsync();
        Task finished = await Task.WhenAny(waiting, Task.Delay(2000));
        bool cancelledPromptly = finished == waiting && waiting.IsCanceled;

        await signal.Writer.WriteAsync(1);
        await Wait.Bounded(running);
        await Wait.Bounded(queued);
        try
        {
            await Wait.Bounded(waiting);
        }
        catch (Exception)
        {
            // its outcome after room freed is not the point
        }

        Assert.That(cancelledPromptly, Is.True, "a call whose token argument was cancelled while it waited for room ended cancelled at once");
    }

    [Test]
    public async Task CallAsync_ManyCallsFromOneCallerPastTheBound_RunInTheOrderMade()
    {
        // Past the bound, calls wait in line and each place given back goes to the oldest, queued by the giver itself, so
        // calls made one after another still run in that order (granting through a semaphore let waiters swap places).
        int outOfOrder = 0;
        for (int round = 0; round < 5 && outOfOrder == 0; round++)
        {
            await using Isolate isolate = await Isolate.CreateAsync(new IsolateOptions { MaxQueuedCalls = 2 });
            var calls = new Task[20_000];
            for (int i = 0; i < calls.Length; i++)
            {
                calls[i] = isolate.CallAsync(OrderLog.Record, i);
            }

            await Task.WhenAll(calls).WaitAsync(TimeSpan.FromSeconds(20));
            outOfOrder = await isolate.CallAsync(OrderLog.OutOfOrder);
        }

        Assert.That(outOfOrder, Is.Zero, "calls made one after another by one caller ran in that order");
    }

    /// <summary>The blocking call was queued before this is called, so an empty queue means it has started.</summary>
    private static Task WaitUntilStartedAsync(Isolate isolate) =>
        Diagnostics.Poll.Until(() => isolate.QueueLength == 0, "the blocking call to start");
}
