using Isolates.Diagnostics;

namespace Isolates.Pool;

/// <summary>
/// One slot of a pool: the isolate currently serving it, replaced by a fresh one (initializer included) when it
/// faults or is closed by other code. Work given to the slot once the replacement is published waits for it.
/// </summary>
internal sealed class PoolWorker
{
    private readonly IsolatePool _pool;
    private readonly Lock _replacing = new(); // orders a replacement's publication against CloseAsync; taken only on a fault and on close
    private Task<Isolate> _current;
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
        lock (_replacing)
        {
            _closed = true;
            current = _current;
        }

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
            return; // the pool is closing its isolates: nothing will run on a replacement
        }

        // While a dispose waits for running work, a faulted isolate is still replaced so that work can go on.
        // The close and the publication decide under one lock, so that either CloseAsync sees the replacement
        // (and closes it) or the replacement sees the slot closed (and closes itself): none is left running.
        Task<Isolate> replacement = ReplaceAsync(ended, faulted);
        bool published;
        lock (_replacing)
        {
            published = !_closed;
            if (published)
            {
                Volatile.Write(ref _current, replacement);
            }
        }

        if (published)
        {
            _pool.CountReplacement(); // after the publication: whoever sees the count sees the replacement
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
        Isolate fresh = await _pool.StartIsolateAsync(Index, _pool.AbortToken).ConfigureAwait(false); // a slow initializer must not hold up the pool's close
        Watch(fresh);
        return fresh;
    }
}
