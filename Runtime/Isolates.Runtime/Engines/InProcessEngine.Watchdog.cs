using Isolates.Diagnostics;
using Isolates.Dispatcher;

namespace Isolates.Engines;

/// <summary>
/// Deadlock detection (<see cref="IsolateOptions.BlockedThreadTimeout"/>): isolate code that blocks its own thread on
/// a task whose continuation was posted to its own queue (<c>.Result</c> on an async method that awaited) waits
/// forever, and every later call with it. <see cref="BlockedThreadWatchdog"/> looks at each watched isolate a few
/// times per timeout; this is what one look decides, all of it off the isolate's thread.
/// </summary>
internal sealed partial class InProcessEngine
{
    // Touched only by the watchdog's tick, which never runs twice at once for one clock.
    // The item running, with the thread blocked, at the previous look. Weak: a call item references the isolate's
    // own types, so holding it after it ran would keep the closed isolate's context from unloading.
    private WeakReference<WorkItem>? _blockedItem;
    private bool _pendingSeen;      // an awaitable continuation waited behind it since _pendingSince
    private long _pendingSince;
    private int _deadlocked;
    private int _watching; // registered with the watchdog (each look reads the current timeout from the options)

    /// <summary>Whether the watchdog should keep looking at this isolate: its thread runs and it was not declared deadlocked.</summary>
    public bool NeedsWatching => !_threadExited.Task.IsCompleted && Volatile.Read(ref _deadlocked) == 0;

    /// <summary>
    /// After an item, on the isolate's thread: once a deadlock was declared, clears an interrupt that reached the thread
    /// after the blocked wait had ended, so it cannot land on the runtime's own waits as the thread stops.
    /// </summary>
    private void ClearInterruptIfDeadlocked()
    {
        if (Volatile.Read(ref _deadlocked) != 0)
        {
            try
            {
                Thread.Sleep(0); // throws here if an interrupt is pending
            }
            catch (ThreadInterruptedException)
            {
            }
        }
    }

    /// <summary>
    /// Starts deadlock detection once the isolate's options are final: when it is listed, and again when the isolate a
    /// pre-warmed child serves adopts its creation's options (a spare made without detection then gains it). Once only.
    /// </summary>
    public override void StartWatching()
    {
        TimeSpan timeout = Owner.Options.BlockedThreadTimeout;
        if (timeout != Timeout.InfiniteTimeSpan && Interlocked.Exchange(ref _watching, 1) == 0)
        {
            BlockedThreadWatchdog.Watch(this, Owner.TimeProvider, timeout);
        }
    }

    /// <summary>
    /// One look: deadlocked when the thread is blocked (WaitSleepJoin) in the same item at every look for at least
    /// the timeout while a continuation that isolate code may be waiting for sits in the queue all that time.
    /// </summary>
    public void CheckBlocked(TimeProvider clock, long now)
    {
        try
        {
            WorkItem? running = Volatile.Read(ref _running);
            Thread? thread = _thread;
            if (running is null || thread is null || Owner.StopRequested
                || (thread.ThreadState & ThreadState.WaitSleepJoin) == 0)
            {
                _blockedItem?.SetTarget(null!);
                _pendingSeen = false;
                return;
            }

            if (_blockedItem is null || !_blockedItem.TryGetTarget(out WorkItem? previous) || !ReferenceEquals(running, previous))
            {
                if (_blockedItem is null)
                {
                    _blockedItem = new WeakReference<WorkItem>(running);
                }
                else
                {
                    _blockedItem.SetTarget(running);
                }

                _pendingSeen = false;
            }

            if (!_pendingSeen)
            {
                // The queue is looked into only here: the thread has been seen blocked in this item.
                if (_queue.FindAwaitable() is not null)
                {
                    _pendingSeen = true;
                    _pendingSince = now;
                }

                return;
            }

            TimeSpan blocked = clock.GetElapsedTime(_pendingSince, now);
            if (blocked >= Owner.Options.BlockedThreadTimeout && _queue.FindAwaitable() is { } waiting)
            {
                DeclareDeadlock(running, waiting, thread, blocked);
            }
        }
        catch (Exception)
        {
            // A diagnostic must never take the process down; the next look tries again.
        }
    }

    private void DeclareDeadlock(WorkItem running, WorkItem waiting, Thread thread, TimeSpan blocked)
    {
        if (Interlocked.Exchange(ref _deadlocked, 1) != 0)
        {
            return;
        }

        Isolate owner = Owner;
        string blockedIn = running.Description;
        string waitingFor = waiting.Description;
        var deadlock = new IsolateDeadlockException(owner.Id, owner.Name, blockedIn,
            $"Isolate '{owner.Name}' ({owner.Id}) is deadlocked while running {blockedIn}: its thread has been blocked in a synchronous wait " +
            $"for {blocked.TotalSeconds:0.0} s, and {waitingFor} has waited in the isolate's own queue all that time. Only that " +
            "thread can run it, so the wait can never end. Blocking on a task in isolate code (.Result, .Wait(), " +
            "GetAwaiter().GetResult()) does this: use await instead. The isolate cannot continue: it is faulted and must be " +
            "closed (a pool or a supervisor replaces it). If the code was only waiting long for work done elsewhere, raise " +
            $"IsolateOptions.BlockedThreadTimeout (now {owner.Options.BlockedThreadTimeout}).")
        {
            BlockedFor = blocked,
            Waiting = waitingFor,
        };

        // The call holding the thread fails with the reason (if its code ever returns, that outcome is discarded);
        // then the isolate faults as when an exception escapes: queued and unfinished calls fail, Completion faults,
        // and no further item starts.
        running.Abandon(deadlock);
        owner.Fault(deadlock, logged: true);

        // Wakes the blocked wait with a ThreadInterruptedException, so the thread unwinds, the isolate stops and
        // CloseAsync does not wait for CloseTimeout. Only while the thread is still in that item: a wait that ended
        // meanwhile has let it move on, and the interrupt would land on whatever waits next (the thread consumes one
        // that slips through after the item, see RunLoop). A wait that swallows it leaves the isolate reported as stuck.
        try
        {
            if (ReferenceEquals(Volatile.Read(ref _running), running))
            {
                thread.Interrupt();
            }
        }
        catch (Exception)
        {
            // the thread ended meanwhile
        }

        // Last: the logger is user code, and running it before acting gave the wait time to end under the decision.
        owner.TryLog(static (logger, isolate, error) =>
        {
            var deadlock = (IsolateDeadlockException)error!;
            Log.Deadlocked(logger, isolate.Name, isolate.Id, deadlock.BlockedFor, deadlock.BlockedIn, deadlock.Waiting);
        }, deadlock);
    }
}
