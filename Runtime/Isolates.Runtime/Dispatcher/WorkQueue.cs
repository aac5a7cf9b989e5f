using System.Collections.Concurrent;
using System.Diagnostics;
using Isolates.Diagnostics;

namespace Isolates.Dispatcher;

/// <summary>
/// The isolate's inbox: many producers, one consumer (the isolate's thread). The consumer spins briefly when the
/// queue runs dry, because a reply often follows within microseconds (yielding the core every other turn once the
/// first few spins found nothing, so a producer waiting for this core can run), then blocks on a semaphore; producers only
/// touch the semaphore when the consumer is asleep. Once closed, every item in it or enqueued later is abandoned.
/// </summary>
internal sealed class WorkQueue
{
    private const int SpinIterations = 64;
    private const int PureSpins = 4;

    private readonly ConcurrentQueue<WorkItem> _items = new();
    private readonly SemaphoreSlim _signal = new(0, int.MaxValue);
    private int _sleeping;
    private int _closed;
    private int _observed; // FindAwaitable took a snapshot (see Close)
    private Exception? _closeReason;
    private IdleWait? _idle; // set once, on the consumer's thread (see SetIdleWait)
    private Action<PostedCallback>? _afterClose;

    public int Count => _items.Count;

    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <summary>
    /// Where continuations posted to the isolate's context go once the queue is closed, instead of being dropped, or null:
    /// a graceful close keeps them for its disposal, whose DisposeAsync may await code that resumes through that context.
    /// </summary>
    public Action<PostedCallback>? AfterClose
    {
        set => Volatile.Write(ref _afterClose, value);
    }

    /// <summary>Adds an item; if the queue is closed the item is abandoned with the close reason instead.</summary>
    public void Enqueue(WorkItem item)
    {
        if (Volatile.Read(ref _closed) != 0)
        {
            Drop(item, _closeReason!);
            return;
        }

        Interleave.Point("queue.enqueue.open");
        _items.Enqueue(item); // a full fence: the read of _closed below cannot move above it
        Interleave.Point("queue.enqueue.added");

        if (Volatile.Read(ref _closed) != 0)
        {
            AbandonAll(); // raced with Close: make sure the item does not sit here forever
            return;
        }

        Interleave.Point("queue.enqueue.wake");

        if (Volatile.Read(ref _sleeping) != 0 && Interlocked.Exchange(ref _sleeping, 0) != 0)
        {
            WakeConsumer();
        }
    }

    /// <summary>
    /// From now on the consumer waits through <paramref name="idle"/> when the queue is empty. Only the consumer's thread
    /// calls this (between items), so no producer can have seen it asleep on the semaphore and wake the wrong way: a
    /// producer reads <see cref="_idle"/> after taking the consumer's announcement that it sleeps, which the consumer
    /// makes after this write.
    /// </summary>
    public void SetIdleWait(IdleWait idle)
    {
        Debug.Assert(_idle is null, "set once");
        Volatile.Write(ref _idle, idle);
    }

    private void WakeConsumer()
    {
        if (Volatile.Read(ref _idle) is { } idle)
        {
            idle.Wake();
        }
        else
        {
            _signal.Release();
        }
    }

    /// <summary>
    /// Takes the next item, waiting as long as needed; null once the queue is closed and empty. Only the isolate's
    /// thread calls this.
    /// </summary>
    public WorkItem? Dequeue()
    {
        while (true)
        {
            if (_items.TryDequeue(out WorkItem? item))
            {
                return item;
            }

            if (Volatile.Read(ref _closed) != 0)
            {
                return null;
            }

            // With an idle wait the spin would only delay it: what comes next (a call from the pipe) arrives there.
            int spins = _idle is null ? SpinIterations : 0;
            for (int i = 0; i < spins; i++)
            {
                // A few pure spins catch the reply that follows within microseconds on an idle machine. After that,
                // every other turn yields the core: when the machine is oversubscribed, the thread that would enqueue
                // our next item (often the caller's thread-pool continuation) may be waiting for this very core, and
                // a spin that never yields holds it until the time slice ends. Measured on 2 busy cores: round trip
                // p50 ~60 us with pure spinning, 10-18 us with this; unchanged (~4-5 us) when a core is free.
                if (i >= PureSpins && (i & 1) == 1)
                {
                    Thread.Yield();
                }
                else
                {
                    Thread.SpinWait(20);
                }

                if (_items.TryDequeue(out item))
                {
                    return item;
                }
            }

            Interleave.Point("queue.dequeue.empty"); // found nothing; not yet announced asleep
            Interlocked.Exchange(ref _sleeping, 1); // a full fence before the last look
            Interleave.Point("queue.dequeue.sleeping");
            IdleWait? idle = _idle; // only this thread writes it
            if (_items.TryDequeue(out item) || Volatile.Read(ref _closed) != 0)
            {
                if (Interlocked.Exchange(ref _sleeping, 0) == 0 && idle is null)
                {
                    _signal.Wait(); // a producer saw us asleep and released: consume that release
                }

                // (with an idle wait, that producer's wake makes the next wait return at once, which is harmless)
                return item; // null when closed: the caller stops
            }

            if (idle is not null)
            {
                Interleave.Point("queue.dequeue.idle");
                WorkItem? arrived = idle.Wait();
                Interlocked.Exchange(ref _sleeping, 0); // a producer may still wake us: see above
                if (arrived is not null)
                {
                    return arrived;
                }

                continue;
            }

            _signal.Wait();
        }
    }

    /// <summary>
    /// The oldest queued callback or call that isolate code may be blocked waiting for, or null. For the deadlock detector
    /// only (off the isolate's thread, after it was seen blocked): enumerating takes a snapshot, which costs the next
    /// enqueue a fresh segment, so it is not for hot paths.
    /// </summary>
    public WorkItem? FindAwaitable()
    {
        Volatile.Write(ref _observed, 1);
        foreach (WorkItem item in _items)
        {
            if (item.MayBeAwaited)
            {
                return item;
            }
        }

        return null;
    }

    /// <summary>Closes the queue: every item now in it, and every item enqueued later, is abandoned with <paramref name="reason"/>.</summary>
    public void Close(Exception reason)
    {
        Debug.Assert(reason is not null);
        Interlocked.CompareExchange(ref _closeReason, reason, null);
        Interlocked.Exchange(ref _closed, 1);
        Interleave.Point("queue.close.closed");
        AbandonAll();
        if (Volatile.Read(ref _observed) != 0)
        {
            // A snapshot keeps its segment's dequeued items referenced until the queue moves on to a new segment, which
            // a closed queue never would; those items reference the isolate's own types, so its context could not
            // unload. One more item moves the queue on (whoever takes it abandons it, which does nothing).
            _items.Enqueue(Moved.Instance);
            AbandonAll();
        }

        Interleave.Point("queue.close.drained");
        if (Interlocked.Exchange(ref _sleeping, 0) != 0)
        {
            WakeConsumer(); // so it sees the queue is closed
        }
    }

    private void AbandonAll()
    {
        Exception reason = Volatile.Read(ref _closeReason)!;
        while (_items.TryDequeue(out WorkItem? item))
        {
            Drop(item, reason);
        }
    }

    /// <summary>An item the closed queue will not run: abandoned, or a continuation kept for the close's disposal (see <see cref="AfterClose"/>).</summary>
    public void Drop(WorkItem item, Exception reason)
    {
        if (item is PostedCallback { Awaitable: true } posted && Volatile.Read(ref _afterClose) is { } keep)
        {
            keep(posted);
            return;
        }

        item.Abandon(reason);
    }

    private sealed class Moved : WorkItem
    {
        public static readonly Moved Instance = new();

        public override void Execute()
        {
        }

        public override void Abandon(Exception reason)
        {
        }
    }
}
