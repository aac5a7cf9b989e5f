using System.Diagnostics;

namespace Isolates.Diagnostics;

/// <summary>
/// A set of exit callbacks: one per isolate (each callback runs at most once, because an isolate ends once) and one
/// for the whole process (callbacks run once per isolate that ends). Callbacks always run on a thread-pool thread,
/// never inline and never under a lock, without the subscriber's execution context.
/// </summary>
internal sealed class ExitWatchers(bool once)
{
    private readonly object _gate = new();
    private Subscription[] _subscriptions = [];
    private IsolateExit? _ended; // for a per-isolate set: the exit, once it happened

    /// <summary>Adds a callback; for a per-isolate set whose isolate already ended, queues it at once.</summary>
    public IDisposable Add(Action<IsolateExit> callback)
    {
        var subscription = new Subscription(this, callback);
        IsolateExit? ended;
        lock (_gate)
        {
            ended = _ended;
            if (ended is null)
            {
                _subscriptions = [.. _subscriptions, subscription];
            }
        }

        if (ended is not null)
        {
            subscription.Queue(ended);
        }

        return subscription;
    }

    /// <summary>Queues every callback with <paramref name="exit"/>; a per-isolate set then forgets them all.</summary>
    public void Notify(IsolateExit exit)
    {
        Subscription[] targets;
        lock (_gate)
        {
            Debug.Assert(!once || _ended is null, "an isolate ends once");
            targets = _subscriptions;
            if (once)
            {
                _ended = exit;
                _subscriptions = [];
            }
        }

        foreach (Subscription subscription in targets)
        {
            subscription.Queue(exit);
        }
    }

    private void Remove(Subscription subscription)
    {
        lock (_gate)
        {
            int index = Array.IndexOf(_subscriptions, subscription);
            if (index >= 0)
            {
                _subscriptions = [.. _subscriptions[..index], .. _subscriptions[(index + 1)..]];
            }
        }
    }

    private sealed class Subscription(ExitWatchers owner, Action<IsolateExit> callback) : IDisposable
    {
        private Action<IsolateExit>? _callback = callback;

        public void Queue(IsolateExit exit) =>
            ThreadPool.UnsafeQueueUserWorkItem(static s => s.Subscription.Run(s.Exit), (Subscription: this, Exit: exit), preferLocal: false);

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _callback, null) is not null)
            {
                owner.Remove(this);
            }
        }

        private void Run(IsolateExit exit)
        {
            // A per-isolate watch fires once; a process-wide one stays until disposed. Disposed before running: skipped.
            Action<IsolateExit>? callback = owner.Once ? Interlocked.Exchange(ref _callback, null) : Volatile.Read(ref _callback);
            if (callback is null)
            {
                return;
            }

            try
            {
                callback(exit);
            }
            catch (Exception ex)
            {
                exit.Isolate.ReportWatcherFailure(ex);
            }
        }
    }

    private bool Once => once;
}
