using System.Collections.Concurrent;
using Isolates.Diagnostics;
using Isolates.Dispatcher;
using static Isolates.Tests.Scheduling.Schedule;

namespace Isolates.Tests.Scheduling;

/// <summary>
/// The isolate's queue with an idle wait (<see cref="WorkQueue.SetIdleWait"/>, how a child-process isolate's thread reads
/// its pipe while idle) under controlled scheduling: items enqueued and "frames" arriving through the idle wait race the
/// consumer's going to sleep. Invariants: every item and every frame runs exactly once, and the consumer never sleeps
/// through either (a lost wake-up would leave one waiting).
/// </summary>
[NonParallelizable]
public sealed class IdleWaitScheduleTests
{
    [Test]
    public Task Dequeue_ItemsAndFramesRacingTheIdleWait_EachRunsOnceAndNoneIsSleptThrough() => ExploreAsync(60, async seed =>
    {
        const int PerProducer = 30;
        var queue = new WorkQueue();
        var pipe = new FakePipe();
        int[] executed = new int[2 * PerProducer];
        Task consumer = Participants.Start("consumer", () =>
        {
            queue.SetIdleWait(pipe); // on the consumer's thread, as the runtime does
            while (queue.Dequeue() is { } item)
            {
                item.Execute();
            }

            return Task.CompletedTask;
        });

        // Producer 0 enqueues, producer 1 sends frames; each waits for its last one to run (ping-pong), so an item or a
        // frame the consumer slept through is caught.
        Task[] producers = [.. Enumerable.Range(0, 2).Select(p => Participants.Start(p == 0 ? "enqueuer" : "pipe", async () =>
        {
            var random = new Random(seed + p);
            for (int i = 0; i < PerProducer; i++)
            {
                int id = (p * PerProducer) + i;
                Thread.SpinWait(random.Next(5_000));
                var item = new CountedItem(id, executed);
                if (p == 0)
                {
                    queue.Enqueue(item);
                }
                else
                {
                    pipe.Arrive(item);
                }

                var clock = System.Diagnostics.Stopwatch.StartNew();
                while (Volatile.Read(ref executed[id]) == 0)
                {
                    await Task.CompletedTask;
                    Require(clock.Elapsed < TimeSpan.FromSeconds(2), $"{(p == 0 ? "item" : "frame")} {i} was not run within 2 s while the consumer was idle (a lost wake-up)");
                    Thread.Yield();
                }
            }
        }))];

        await Within(Task.WhenAll(producers), "the producers");
        queue.Close(new InvalidOperationException("done"));
        await Within(consumer, "the consumer (Dequeue returns null once closed)");
        for (int i = 0; i < executed.Length; i++)
        {
            Require(executed[i] == 1, $"{(i < PerProducer ? "item" : "frame")} {i % PerProducer} ran {executed[i]} times");
        }
    }, Budget(3), "queue.enqueue.added", "queue.dequeue.sleeping", "queue.dequeue.idle", "test.pipe.waiting");

    /// <summary>An idle wait over a counter that wakes and frames both raise (as the child's poll on its socket and eventfd).</summary>
    private sealed class FakePipe : IdleWait
    {
        private readonly SemaphoreSlim _raised = new(0, int.MaxValue);
        private readonly ConcurrentQueue<WorkItem> _frames = new();

        public void Arrive(WorkItem frame)
        {
            _frames.Enqueue(frame);
            _raised.Release();
        }

        public override WorkItem? Wait()
        {
            if (_frames.TryDequeue(out WorkItem? frame))
            {
                return frame; // a frame already there: read without waiting
            }

            Interleave.Point("test.pipe.waiting");
            _raised.Wait();
            while (_raised.Wait(0))
            {
                // lowered to zero, as a read of an eventfd does
            }

            return _frames.TryDequeue(out frame) ? frame : null;
        }

        public override void Wake() => _raised.Release();
    }

    private sealed class CountedItem(int id, int[] executed) : WorkItem
    {
        public override void Execute() => Interlocked.Increment(ref executed[id]);

        public override void Abandon(Exception reason) => throw new InvalidOperationException($"item {id} abandoned: nothing closes the queue before every item ran");
    }
}
