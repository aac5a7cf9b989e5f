using System.Collections.Concurrent;
using System.Diagnostics;
using Isolates.Calls;
using Isolates.Diagnostics;

namespace Isolates.Pool;

/// <summary>
/// One parallel map over a pool. Every worker runs a driver that takes the next chunk from the shared source
/// (so a slow item only delays its own chunk), keeps two chunks in flight on its isolate (so the isolate never waits
/// for the next one), and, when the source is empty, steals chunks other isolates have queued but not started.
/// Chunk sizes follow the per-item time each isolate measures. The first failure cancels the rest promptly.
/// A chunk its isolate refused before starting it (the isolate ended: <see cref="IsolateClosedException.NotStarted"/>)
/// goes back to the map, for any running isolate to take: none of its items ran. So no driver may leave while a chunk
/// is still out (it could come back): one that finds nothing to take waits until every chunk has settled.
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
    private readonly ConcurrentQueue<Chunk<T>> _returned = new(); // refused before they started: taken before the source
    private Exception? _failure;
    private long _finished;
    private int _open; // chunks taken (or being taken) and not settled yet: each may still come back
    private TaskCompletionSource _settled = NewSignal(); // completed (and renewed) when a chunk comes back or none is open
    private CancellationTokenSource _cameBack = new(); // cancelled (and renewed) when a chunk comes back: ends a wait on a stream

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
            _cameBack.Dispose();
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

                Chunk<T>? chunk = await TakeAsync(worker.Index).ConfigureAwait(false);
                if (chunk is null)
                {
                    if (pending is { } own)
                    {
                        // Settle this isolate's own chunk before deciding the map is done: it may come back.
                        pending = null;
                        Volatile.Write(ref _stealable[worker.Index], null);
                        await FinishAsync(worker, own.Batch, own.Chunk, own.Buffer, own.Offset).ConfigureAwait(false);
                        continue;
                    }

                    // Read before the count, so a chunk coming back after the look is not missed.
                    Interleave.Point("pool.map.nothingTaken");
                    Task settled = Volatile.Read(ref _settled).Task;
                    if (Volatile.Read(ref _open) == 0 && _returned.IsEmpty)
                    {
                        _drained.Cancel(); // nothing left to take: a slot still waiting for its replacement stops waiting
                        break;
                    }

                    // Another isolate still has chunks out, and one refused before it started comes back here.
                    Interleave.Point("pool.map.waitingForOpenChunks");
                    await settled.WaitAsync(_stop.Token).ConfigureAwait(false);
                    continue;
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
        catch (IsolateClosedException closed) when (closed.NotStarted && closed.IsolateId == batch.IsolateId)
        {
            // Refused by its own isolate before any item of it started (the isolate ended): the chunk goes back to
            // the map, for a running isolate or the replacement. Not while the map stops (caught above): a pool that
            // closes its isolates refuses everything, and resending would never end.
            Interleave.Point("pool.map.chunkRefused");
            _returned.Enqueue(chunk); // before the chunk stops counting as open (finally): a driver never sees neither
            Interlocked.Exchange(ref _cameBack, new CancellationTokenSource()).Cancel();
            Signal();
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
            Settle();
        }
    }

    /// <summary>
    /// The next chunk for a driver: one that came back first (its items are the oldest), then the source, then a
    /// chunk another isolate queued and has not started. Counted open from before the look, so that no driver sees
    /// the map empty while another holds a chunk it has not queued yet.
    /// </summary>
    private async ValueTask<Chunk<T>?> TakeAsync(int worker)
    {
        Interlocked.Increment(ref _open);
        Chunk<T>? chunk = null;
        try
        {
            while (true)
            {
                // Read before the queue: a chunk that comes back after the look cancels this one.
                CancellationTokenSource cameBack = Volatile.Read(ref _cameBack);
                if (_returned.TryDequeue(out Chunk<T>? back))
                {
                    chunk = back;
                    return back;
                }

                if (_source.Total is not null)
                {
                    chunk = await _source.TakeAsync(ChunkSizeFor(worker), _stop.Token).ConfigureAwait(false); // a list never waits
                }
                else
                {
                    // A stream may keep this driver waiting for its next item: a chunk that comes back meanwhile must
                    // not wait for the stream (taking from the stream's buffer is safe to cancel: nothing is read).
                    using var waiting = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, cameBack.Token);
                    try
                    {
                        chunk = await _source.TakeAsync(ChunkSizeFor(worker), waiting.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (cameBack.IsCancellationRequested && !_stop.IsCancellationRequested)
                    {
                        continue;
                    }
                }

                chunk ??= _returned.TryDequeue(out back) ? back : StealFor(worker);
                return chunk;
            }
        }
        finally
        {
            if (chunk is null)
            {
                Settle(); // took nothing
            }
        }
    }

    /// <summary>A chunk is settled (delivered, failed, stolen, cancelled, came back) or a look found nothing.</summary>
    private void Settle()
    {
        if (Interlocked.Decrement(ref _open) == 0)
        {
            Signal(); // drivers waiting for open chunks find the map done
        }
    }

    private void Signal() => Interlocked.Exchange(ref _settled, NewSignal()).TrySetResult();

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

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
