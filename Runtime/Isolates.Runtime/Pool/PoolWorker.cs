using Isolates.Diagnostics;

namespace Isolates.Pool;

/// <summary>
/// One slot of a pool: the isolate currently serving it, replaced by a fresh one (initializer included) when it
/// faults or is closed by other code. Work given to the slot from the moment its isolate ends waits for the
/// replacement (<see cref="AcquireAsync"/>); a replacement whose start fails is retried with a bounded backoff.
/// </summary>
internal sealed class PoolWorker
{
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(30);

    private readonly IsolatePool _pool;
    private readonly Lock _replacing = new(); // orders a replacement's publication against CloseAsync; taken only on a fault and on close
    private Task<Isolate> _current;
    private TaskCompletionSource _changed = NewSignal(); // completed (and renewed) when _current changes or the slot closes
    private bool _closed;
    private int _outstanding;

    public PoolWorker(IsolatePool pool, int index, Isolate isolate)
    {
        _pool = pool;
        Index = index;
        _current = Task.FromResult(isolate);
        Watch(isolate);
    }

    public int Index { get; }

    /// <summary>Calls and chunks sent to this slot and not finished: the measure of load for <c>SubmitAsync</c>.</summary>
    public int Outstanding => Volatile.Read(ref _outstanding);

    /// <summary>
    /// The per-item cost (Stopwatch ticks) last measured on this slot for a function (by plan id), so the next map of
    /// the same function starts at the right chunk size instead of probing with single items again.
    /// </summary>
    public (long PlanId, double TicksPerItem) LastMeasured { get; set; }

    public Task<Isolate> Current => Volatile.Read(ref _current);

    public Isolate? CurrentIfReady => Current.IsCompletedSuccessfully ? Current.Result : null;

    /// <summary>Whether the slot's isolate takes work now (running or still starting; not ended, not being replaced).</summary>
    public bool IsReady => ReadyIsolate is not null;

    /// <summary>The slot's isolate if it takes work now (see <see cref="IsReady"/>), read once; otherwise null.</summary>
    public Isolate? ReadyIsolate => CurrentIfReady is { } isolate && TakesWork(isolate) ? isolate : null;

    /// <summary>
    /// The isolate to send work to. While the slot's isolate has ended (faulted, or closed by other code) and its
    /// replacement has not been started (initializer included), this waits for it instead of handing out an isolate that refuses
    /// every call. Throws <see cref="OperationCanceledException"/> for <paramref name="cancellationToken"/>, and for
    /// the pool's abort token once the pool closes its isolates (callers report that as the pool having closed).
    /// </summary>
    public ValueTask<Isolate> AcquireAsync(CancellationToken cancellationToken) =>
        ReadyIsolate is { } isolate ? new(isolate) : new(WaitForRunningAsync(cancellationToken));

    /// <summary>
    /// Running, or Starting: <see cref="Isolate.CreateAsync"/> returns before the isolate's thread turns it Running,
    /// and calls made meanwhile wait in its queue. Nothing signals the turn to Running, so waiting for it on
    /// <see cref="_changed"/> slept until the next replacement (a submit after a replacement hung for good).
    /// </summary>
    private static bool TakesWork(Isolate isolate) => isolate.State is IsolateState.Running or IsolateState.Starting;

    private async Task<Isolate> WaitForRunningAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            // The signal is read before the isolate: a publication in between completes this signal, so no change is missed.
            Task changed = Volatile.Read(ref _changed).Task;
            Task<Isolate> current = Current;
            Isolate isolate;
            try
            {
                // WaitAsync: a replacement that is still starting must not make the caller's token useless.
                isolate = await current.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException && _pool.IsAborting)
            {
                throw new OperationCanceledException($"Isolate pool '{_pool.Name}' closed its isolates while this work waited for slot {Index}.", ex, _pool.AbortToken);
            }

            if (TakesWork(isolate))
            {
                return isolate;
            }

            if (Volatile.Read(ref _closed) || _pool.IsAborting)
            {
                throw new OperationCanceledException($"Isolate pool '{_pool.Name}' closed its isolates while this work waited for slot {Index}.", _pool.AbortToken);
            }

            // Ended: faulted, or closed by other code. Its replacement is published once its thread has stopped.
            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public void Enter() => Interlocked.Increment(ref _outstanding);

    public void Exit() => Interlocked.Decrement(ref _outstanding);

    private void Watch(Isolate isolate) =>
        _ = isolate.Completion.ContinueWith(
            static (completion, state) =>
            {
                // Faulted, or closed by other code (Isolates hands the isolates out): either way the slot would be
                // dead for every later map and call. The pool's own close happens only after IsAborting.
                var (worker, isolate) = ((PoolWorker, Isolate))state!;
                worker.Replace(isolate, completion.IsFaulted);
            },
            (this, isolate),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);

    /// <summary>
    /// Closes the slot's isolate: the current one, or the replacement that was starting (whose start the pool's
    /// abort cancels). After this, a fault no longer publishes a replacement, so none is left running.
    /// </summary>
    public async Task CloseAsync()
    {
        Task<Isolate> current;
        TaskCompletionSource changed;
        lock (_replacing)
        {
            _closed = true;
            current = _current;
            changed = _changed;
        }

        changed.TrySetResult(); // work waiting for a replacement learns that none comes (outside the lock: it runs continuations)

        await CloseWhenStartedAsync(current).ConfigureAwait(false);
    }

    private static async Task CloseWhenStartedAsync(Task<Isolate> starting)
    {
        Isolate isolate;
        try
        {
            isolate = await starting.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IsolateException or OperationCanceledException)
        {
            return; // a replacement that failed to start, or whose start was cancelled, has already closed itself
        }

        await isolate.CloseAsync().ConfigureAwait(false);
    }

    private void Replace(Isolate ended, bool faulted)
    {
        if (_pool.IsAborting)
        {
            return; // the pool is closing its isolates: nothing will run on a replacement (CloseAsync wakes the waiters)
        }

        // While a dispose waits for running work, a faulted isolate is still replaced so that work can go on.
        // The close and the publication decide under one lock, so that either CloseAsync sees the replacement
        // (and closes it) or the replacement sees the slot closed (and closes itself): none is left running.
        Task<Isolate> replacement = ReplaceAsync(ended, faulted);
        bool published;
        TaskCompletionSource? changed = null;
        lock (_replacing)
        {
            published = !_closed;
            if (published)
            {
                Volatile.Write(ref _current, replacement);
                changed = _changed;
                Volatile.Write(ref _changed, NewSignal());
            }
        }

        if (published)
        {
            _pool.CountReplacement(); // after the publication: whoever sees the count sees the replacement
            changed!.TrySetResult(); // work waiting on the ended isolate now waits on the replacement
        }
        else
        {
            _ = CloseWhenStartedAsync(replacement);
        }
    }

    private async Task<Isolate> ReplaceAsync(Isolate ended, bool faulted)
    {
        _pool.TryLog(logger =>
        {
            if (faulted)
            {
                Log.PoolIsolateReplaced(logger, _pool.Name, ended.Name, ended.Id);
            }
            else
            {
                Log.PoolIsolateClosedReplaced(logger, _pool.Name, ended.Name, ended.Id);
            }
        });
        // Until a replacement runs, the slot has no isolate: the pool counts it (SlotsAwaitingReplacement) and sends
        // submits to other slots. A start that fails (an initializer that throws, say) is retried with a bounded
        // exponential backoff rather than left failed for good, which would run the pool with one isolate fewer.
        _pool.CountAwaitingReplacement(+1);
        try
        {
            TimeSpan delay = FirstRetryDelay;
            for (int attempt = 1; ; attempt++)
            {
                try
                {
                    Isolate fresh = await _pool.StartIsolateAsync(Index, _pool.AbortToken).ConfigureAwait(false); // a slow initializer must not hold up the pool's close
                    Watch(fresh);
                    return fresh;
                }
                catch (Exception ex) when (!_pool.IsAborting)
                {
                    TimeSpan retryIn = delay;
                    int failed = attempt;
                    _pool.TryLog(logger => Log.PoolReplacementFailed(logger, _pool.Name, Index, failed, retryIn, ex));
                }

                await Task.Delay(delay, _pool.TimeProvider, _pool.AbortToken).ConfigureAwait(false); // the pool's close ends the wait
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
            }
        }
        finally
        {
            _pool.CountAwaitingReplacement(-1);
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
