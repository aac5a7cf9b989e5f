using Isolates.Diagnostics;

namespace Isolates.Pool;

/// <summary>
/// One slot of a pool: the isolate currently serving it, replaced by a fresh one (initializer included) when it
/// faults. Work for the slot waits for the replacement instead of failing.
/// </summary>
internal sealed class PoolWorker
{
    private readonly IsolatePool _pool;
    private Task<Isolate> _current;
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
                var (worker, isolate) = ((PoolWorker, Isolate))state!;
                if (completion.IsFaulted)
                {
                    worker.Replace(isolate);
                }
            },
            (this, isolate),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);

    private void Replace(Isolate faulted)
    {
        if (_pool.IsClosing)
        {
            return;
        }

        Task<Isolate> replacement = ReplaceAsync(faulted);
        Volatile.Write(ref _current, replacement);
    }

    private async Task<Isolate> ReplaceAsync(Isolate faulted)
    {
        Log.PoolIsolateReplaced(_pool.Logger, _pool.Name, faulted.Name, faulted.Id);
        _pool.CountReplacement();
        Isolate fresh = await _pool.StartIsolateAsync(Index, CancellationToken.None).ConfigureAwait(false);
        Watch(fresh);
        return fresh;
    }
}
