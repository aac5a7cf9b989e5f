using System.Diagnostics;
using Isolates.Calls;
using Isolates.Diagnostics;

namespace Isolates.Pool;

/// <summary>
/// One parallel map over a pool. Every worker runs a driver that takes the next chunk from the shared source
/// (so a slow item only delays its own chunk), keeps two chunks in flight on its isolate (so the isolate never waits
/// for the next one), and, when the source is empty, steals chunks other isolates have queued but not started.
/// Chunk sizes follow the per-item time each isolate measures. The first failure cancels the rest promptly.
/// </summary>
internal sealed class MapRun<T, TResult>
{
    private static readonly long TargetChunkTicks = Stopwatch.Frequency / 1000; // 1 ms of work per trip: enough slack for the next chunk to arrive before the isolate runs dry

    private readonly PoolWorker[] _workers;
    private readonly CallPlan _plan;
    private readonly ChunkSource<T> _source;
    private readonly Action<Chunk<T>, TResult[], int> _deliver;
    private readonly Func<Chunk<T>, (TResult[] Buffer, int Offset)> _buffer;
    private readonly int _fixedChunk;
    private readonly int _maxChunk;
    private readonly CancellationTokenSource _stop;
    private readonly CancellationTokenSource _drained = new(); // cancelled when a driver finds nothing left to take
    private readonly CancellationToken _caller;
    private readonly BatchItem<T, TResult>?[] _stealable;
    private readonly double[] _ticksPerItem;
    private readonly ResultWindow? _window;
    private Exception? _failure;
    private long _finished;

    public MapRun(
        PoolWorker[] workers,
        CallPlan plan,
        ChunkSource<T> source,
        Func<Chunk<T>, (TResult[] Buffer, int Offset)> buffer,
        Action<Chunk<T>, TResult[], int> deliver,
        int fixedChunk,
        int queueCapacity,
        CancellationToken caller,
        CancellationToken poolAborting,
        ResultWindow? window = null)
    {
        _workers = workers;
        _plan = plan;
        _source = source;
        _buffer = buffer;
        _deliver = deliver;
        _fixedChunk = fixedChunk;
        _caller = caller;
        _window = window;
        // Not the pool's "closing" (disposal started) but its abort: a dispose waits for the map to finish first.
        _stop = CancellationTokenSource.CreateLinkedTokenSource(caller, poolAborting);
        _stealable = new BatchItem<T, TResult>?[workers.Length];
        _ticksPerItem = new double[workers.Length];
        for (int i = 0; i < workers.Length; i++)
        {
            (long planId, double ticks) = workers[i].LastMeasured;
            _ticksPerItem[i] = planId == plan.Id ? ticks : 0; // what this isolate learned the last time it ran this function
        }

        long perWorker = source.Total is long total ? total / (workers.Length * 8L) : queueCapacity / (workers.Length * 2L);
        _maxChunk = (int)Math.Clamp(perWorker, 1, 65_536);
    }

    public CancellationToken Stopping => _stop.Token;

    /// <summary>
    /// How many items' results were delivered: counted per chunk, after its delivery, by whoever delivered it (the
    /// thief for a stolen chunk), so a chunk that was cancelled, abandoned or dropped is never counted.
    /// </summary>
    public long Finished => Volatile.Read(ref _finished);

    /// <summary>
    /// Runs the map until every driver has stopped; throws the first failure, or cancellation if the caller cancelled.
    /// Returning normally does not mean every item finished (the pool may have cut the map short): the caller checks
    /// <see cref="Finished"/>.
    /// </summary>
    public async Task RunAsync()
    {
        try
        {
            await Task.WhenAll(_workers.Select(DriveAsync)).ConfigureAwait(false);
        }
        finally
        {
            _stop.Dispose();
            _drained.Dispose();
            for (int i = 0; i < _workers.Length; i++)
            {
                if (_ticksPerItem[i] > 0)
                {
                    _workers[i].LastMeasured = (_plan.Id, _ticksPerItem[i]);
                }
            }
        }

        if (_failure is { } failure)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }

        _caller.ThrowIfCancellationRequested();
    }

    /// <summary>Records the first failure and stops every driver.</summary>
    public void Fail(Exception exception)
    {
        if (Interlocked.CompareExchange(ref _failure, exception, null) is null)
        {
            _stop.Cancel();
        }
    }

    private async Task DriveAsync(PoolWorker worker)
    {
        (BatchItem<T, TResult> Batch, Chunk<T> Chunk, TResult[] Buffer, int Offset)? pending = null;
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                if (pending is { } before && !worker.IsReady)
                {
                    // The slot's isolate ended: settle the chunk it had (it failed, or finished just before) now,
                    // instead of after a replacement that may take a while.
                    pending = null;
                    Volatile.Write(ref _stealable[worker.Index], null);
                    await FinishAsync(worker, before.Batch, before.Chunk, before.Buffer, before.Offset).ConfigureAwait(false);
                    continue;
                }

                if (_window is { HasRoom: false } window)
                {
                    // The consumer is behind: hand it the chunk this isolate has before waiting for it (it may be
                    // the results it waits for), and take nothing from the source meanwhile.
                    if (pending is { } held)
                    {
                        pending = null;
                        Volatile.Write(ref _stealable[worker.Index], null);
                        await FinishAsync(worker, held.Batch, held.Chunk, held.Buffer, held.Offset).ConfigureAwait(false);
                    }

                    await window.WaitForRoomAsync(_stop.Token).ConfigureAwait(false);
                    continue; // the isolate may have ended meanwhile, or the map stopped
                }

                // The isolate first, then the chunk: a slot waiting for its replacement holds no items hostage, and
                // stops waiting once the other slots have taken the whole source.
                Isolate? isolate = await AcquireAsync(worker).ConfigureAwait(false);
                if (isolate is null)
                {
                    break;
                }

                Chunk<T>? chunk = await _source.TakeAsync(ChunkSizeFor(worker.Index), _stop.Token).ConfigureAwait(false)
                    ?? StealFor(worker.Index);
                if (chunk is null)
                {
                    _drained.Cancel(); // nothing left to take: a slot still waiting for its replacement stops waiting
                    break;
                }

                Interleave.Point("pool.map.chunkTaken");
                (TResult[] buffer, int offset) = _buffer(chunk);
                var batch = new BatchItem<T, TResult>(isolate.Engine, _plan, chunk.Items, chunk.Start, chunk.Count, chunk.FirstIndex, buffer, offset, _stop.Token)
                {
                    Trace = Diagnostics.Tracing.CaptureForCall(), // the map caller's context flows into this driver
                };
                worker.Enter();
                batch.Enqueue();
                Volatile.Write(ref _stealable[worker.Index], batch);
                if (pending is { } previous)
                {
                    await FinishAsync(worker, previous.Batch, previous.Chunk, previous.Buffer, previous.Offset).ConfigureAwait(false);
                }

                pending = (batch, chunk, buffer, offset);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // stopped by a failure elsewhere or by the caller
        }
        catch (Exception ex)
        {
            Fail(ex); // the source itself failed
        }

        if (pending is { } last)
        {
            Volatile.Write(ref _stealable[worker.Index], null);
            await FinishAsync(worker, last.Batch, last.Chunk, last.Buffer, last.Offset).ConfigureAwait(false);
        }
    }

    private async Task FinishAsync(PoolWorker worker, BatchItem<T, TResult> batch, Chunk<T> chunk, TResult[] buffer, int offset)
    {
        try
        {
            await batch.Task.ConfigureAwait(false);
            Interleave.Point("pool.map.batchDone");
            if (batch.WasStolen)
            {
                return; // the thief delivers it
            }

            if (batch.ExecutionTicks > 0)
            {
                double perItem = (double)batch.ExecutionTicks / chunk.Count;
                double known = _ticksPerItem[worker.Index];
                _ticksPerItem[worker.Index] = known == 0 ? perItem : (known * 0.5) + (perItem * 0.5);
            }

            _deliver(chunk, buffer, offset);
            Interlocked.Add(ref _finished, chunk.Count); // once per chunk: nothing added per item
        }
        catch (Exception ex) when (_stop.IsCancellationRequested && ex is OperationCanceledException or IsolateClosedException)
        {
            // Cancelled or abandoned because something else failed, the caller cancelled, or the pool is closing its
            // isolates under the map; the chunk is not counted, and the map reports why it stopped.
        }
        catch (IsolateClosedException closed)
        {
            Fail(new IsolateClosedException(
                closed.IsolateId,
                closed.IsolateName,
                $"{closed.Message} Items {chunk.FirstIndex} to {chunk.FirstIndex + chunk.Count - 1} were in flight there and did not complete; the pool replaces the isolate, but does not run them again.",
                closed.InnerException ?? closed));
        }
        catch (Exception ex)
        {
            Fail(ex);
        }
        finally
        {
            worker.Exit();
        }
    }

    /// <summary>The slot's running isolate, waiting while it is being replaced; null if the source ran dry meanwhile.</summary>
    private async ValueTask<Isolate?> AcquireAsync(PoolWorker worker)
    {
        if (worker.ReadyIsolate is { } ready)
        {
            return ready; // the usual case: no linked token source
        }

        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, _drained.Token);
        try
        {
            return await worker.AcquireAsync(waiting.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_drained.IsCancellationRequested && !_stop.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>Takes a chunk another isolate has queued but not started, so no isolate idles while work waits.</summary>
    private Chunk<T>? StealFor(int thief)
    {
        for (int i = 1; i < _stealable.Length; i++)
        {
            int victim = (thief + i) % _stealable.Length;
            BatchItem<T, TResult>? candidate = Volatile.Read(ref _stealable[victim]);
            if (candidate is not null && candidate.TrySteal())
            {
                return candidate.Chunk;
            }
        }

        return null;
    }

    private int ChunkSizeFor(int worker)
    {
        if (_fixedChunk > 0)
        {
            return _fixedChunk;
        }

        double perItem = _ticksPerItem[worker];
        return perItem <= 0 ? 1 : (int)Math.Clamp(TargetChunkTicks / perItem, 1, _maxChunk);
    }
}
