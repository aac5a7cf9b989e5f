using Isolates.Dispatcher;

namespace Isolates.Engines;

/// <summary>Disposing the objects still living in the isolate (<see cref="Isolate.CreateObjectAsync{TInterface, TImpl}(CancellationToken)"/>) when it closes.</summary>
internal sealed partial class InProcessEngine
{
    private bool _declaredStuck; // the close gave up on the thread (CloseTimeout): a thread that returns later disposes nothing
    private Disposal? _disposal; // armed by a graceful stop until the thread has disposed (see ArmDisposal)

    /// <summary>
    /// On the isolate's thread, once its queue has closed and drained (the calls queued before the close were failed,
    /// the code that was running has returned): disposes the objects still in the isolate, newest first, as a DI
    /// container disposes its singletons. Only for a graceful close: a faulted isolate disposes nothing, nor does a
    /// thread that returns after the close gave up on it. Bounded by
    /// the close: when <see cref="IsolateOptions.CloseTimeout"/> runs out, <see cref="CloseAsync"/> declares the isolate
    /// stuck and abandons the disposal (a DisposeAsync still awaiting is left, the rest are not disposed); a Dispose
    /// that blocks the thread holds it like any stuck code. A Dispose that throws is logged and the next one runs.
    /// </summary>
    private void DisposeObjects()
    {
        try
        {
            DisposeObjectsCore();
        }
        finally
        {
            // The continuations kept since the close are dropped now (as they were before disposal existed): kept any
            // longer, code of the closed isolate would stay referenced.
            _queue.AfterClose = null;
            Interlocked.Exchange(ref _disposal, null)?.Close();
        }
    }

    /// <summary>
    /// A graceful stop, before the queue closes: continuations posted to the isolate's context from now on (an await
    /// that resumes because the closing token fired, say) are kept for the disposal instead of being dropped, so a
    /// DisposeAsync that awaits code of the isolate (a loop it stops) sees that code finish.
    /// </summary>
    private void ArmDisposal()
    {
        if (Owner.FaultReason is null)
        {
            var disposal = new Disposal(Owner);
            Volatile.Write(ref _disposal, disposal);
            _queue.AfterClose = disposal.Keep;
        }
    }

    private void DisposeObjectsCore()
    {
        Isolate owner = Owner;
        if (owner.FaultReason is not null || Volatile.Read(ref _declaredStuck) || Volatile.Read(ref _disposal) is not { } disposal)
        {
            // Its objects are dropped: a faulted isolate's state is not to be trusted, and a close that gave up on the
            // thread is over (disposing now would run outside its time). The latter is said: the user asked for a close.
            if (owner.FaultReason is null && Volatile.Read(ref _declaredStuck) && owner.ObjectCount is > 0 and int left)
            {
                owner.LogObjectsNotDisposedAtClose(left, $"the close gave up on the isolate's thread (CloseTimeout {owner.Options.CloseTimeout}) before its objects could be disposed");
            }

            return;
        }

        KeyValuePair<long, object>[] objects = owner.TakeObjectsToDispose();
        if (objects.Length == 0)
        {
            return;
        }

        // The isolate's queue is closed, so continuations posted to its context would be dropped: a DisposeAsync's awaits
        // resume through the disposal's own context, run here.
        SynchronizationContext.SetSynchronizationContext(disposal.Context);
        try
        {
            for (int i = 0; i < objects.Length; i++)
            {
                (long id, object value) = objects[i];
                if (owner.FaultReason is not null)
                {
                    // A posted callback faulted the isolate: the rest are dropped without Dispose, and the log says so.
                    owner.LogObjectsNotDisposedAtClose(objects.Length - i, "the isolate faulted during the disposal");
                    return;
                }

                disposal.Current = (id, value);
                Volatile.Write(ref _running, disposal); // a stuck close names the object and abandons the disposal
                try
                {
                    DisposeOne(value, disposal);
                }
                catch (Exception ex)
                {
                    owner.LogDisposeFailedAtClose(id, value, ex);
                }

                if (disposal.GaveUp)
                {
                    // The close's time ran out in this object's Dispose (a DisposeAsync is left unfinished): it and the older ones.
                    owner.LogObjectsNotDisposedAtClose(objects.Length - i,
                        $"the close's time (CloseTimeout {owner.Options.CloseTimeout}) ran out in the Dispose of object {id} ({value.GetType().FullName}); the older objects were dropped");
                    return;
                }
            }
        }
        finally
        {
            Volatile.Write(ref _running, null);
            SynchronizationContext.SetSynchronizationContext(_synchronizationContext);
        }
    }

    private static void DisposeOne(object value, Disposal disposal)
    {
        if (value is IAsyncDisposable asyncDisposable)
        {
            ValueTask disposing = asyncDisposable.DisposeAsync();
            if (disposing.IsCompleted)
            {
                disposing.GetAwaiter().GetResult();
                return;
            }

            Task task = disposing.AsTask();
            disposal.RunUntil(task);
            if (task.IsCompleted)
            {
                task.GetAwaiter().GetResult();
            }
        }
        else if (value is IDisposable disposable)
        {
            disposable.Dispose();
        }
    }

    /// <summary>
    /// The disposal phase as the engine's running item (so a stuck close describes and abandons it) and the context its
    /// DisposeAsync awaits resume on.
    /// </summary>
    private sealed class Disposal(Isolate owner) : WorkItem
    {
        private readonly TimeSpan _closeTimeout = owner.Options.CloseTimeout;
        private readonly SemaphoreSlim _signal = new(0, int.MaxValue);
        private readonly Queue<(SendOrPostCallback Callback, object? State)> _posted = new(); // also the lock for itself
        private volatile bool _gaveUp;
        private bool _closed; // under the lock of _posted

        public SynchronizationContext Context => field ??= new DisposalContext(this);

        /// <summary>The object being disposed, for the stuck close's message.</summary>
        public (long Id, object Value) Current { get; set; }

        /// <summary>Whether the close's time ran out (or it had none to give): nothing more is waited for.</summary>
        public bool GaveUp => _gaveUp;

        public override string Description =>
            $"the Dispose of object {Current.Id} ({Current.Value?.GetType().FullName}) as the isolate closes (objects still in an isolate are disposed when it closes)";

        /// <summary>
        /// Runs the continuations <paramref name="task"/> posts here until it completes or the close gives up: abandoned by a
        /// stuck close, or its own bound (CloseTimeout again, for a close nobody waits for; none at all for a zero timeout).
        /// </summary>
        public void RunUntil(Task task)
        {
            if (_closeTimeout == TimeSpan.Zero)
            {
                _gaveUp = true; // asked not to wait: the close does not wait for a DisposeAsync either
                return;
            }

            task.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(() => _signal.Release());
            long deadline = _closeTimeout == Timeout.InfiniteTimeSpan ? long.MaxValue : Environment.TickCount64 + (long)Math.Min(_closeTimeout.TotalMilliseconds, long.MaxValue / 2);
            while (!task.IsCompleted && !_gaveUp)
            {
                long left = deadline - Environment.TickCount64;
                if (left <= 0)
                {
                    _gaveUp = true;
                    return;
                }

                _signal.Wait(TimeSpan.FromMilliseconds(Math.Min(left, int.MaxValue)));
                RunPosted();
            }
        }

        private void RunPosted()
        {
            while (true)
            {
                (SendOrPostCallback Callback, object? State) next;
                lock (_posted)
                {
                    if (!_posted.TryDequeue(out next))
                    {
                        return;
                    }
                }

                try
                {
                    next.Callback(next.State);
                }
                catch (Exception ex)
                {
                    owner.Fault(ex); // escaped isolate code outside any call (an async void method), as from the queue
                }
            }
        }

        private void Post(SendOrPostCallback callback, object? state)
        {
            lock (_posted)
            {
                if (_closed)
                {
                    return; // the disposal is over: nothing runs this any more (as for a closed queue)
                }

                _posted.Enqueue((callback, state));
            }

            _signal.Release();
        }

        /// <summary>A continuation posted to the isolate's own context after its queue closed: run while a DisposeAsync is awaited.</summary>
        public void Keep(PostedCallback posted) => Post(static state => ((PostedCallback)state!).Execute(), posted);

        /// <summary>The disposal is over (or never ran): what was kept is dropped, and so is what comes later.</summary>
        public void Close()
        {
            lock (_posted)
            {
                _closed = true;
                _posted.Clear();
            }
        }

        public override void Execute()
        {
            // never queued: it only stands for the disposal while it runs
        }

        /// <summary>The close declared the isolate stuck: stop waiting, so the thread can end.</summary>
        public override void Abandon(Exception reason)
        {
            _gaveUp = true;
            _signal.Release();
        }

        private sealed class DisposalContext(Disposal disposal) : SynchronizationContext
        {
            public override void Post(SendOrPostCallback d, object? state)
            {
                ArgumentNullException.ThrowIfNull(d);
                disposal.Post(d, state);
            }

            public override void Send(SendOrPostCallback d, object? state)
            {
                ArgumentNullException.ThrowIfNull(d);
                d(state); // only the isolate's thread disposes; a foreign thread's Send runs inline rather than deadlock on a closing isolate
            }

            public override SynchronizationContext CreateCopy() => this;
        }
    }
}
