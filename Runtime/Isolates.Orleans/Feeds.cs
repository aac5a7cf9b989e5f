namespace Isolates.Orleans;

/// <summary>A run of consecutive input items, from <see cref="First"/> on, with their bytes once encoded.</summary>
internal sealed class PendingChunk<T>(long first, T[] items)
{
    public long First { get; } = first;

    public T[] Items { get; } = items;

    public byte[]? Encoded { get; set; }

    public IEnumerable<long> Indexes => Enumerable.Range(0, Items.Length).Select(i => First + i);
}

/// <summary>Where a cluster map takes its items from, a chunk at a time, from any number of threads.</summary>
internal interface IClusterFeed<T> : IAsyncDisposable
{
    /// <summary>Up to <paramref name="max"/> next items, or null when the input has ended.</summary>
    ValueTask<PendingChunk<T>?> TakeAsync(int max, CancellationToken cancellationToken);

    /// <summary>Items not taken yet, when known (a list); null for a stream.</summary>
    long? Remaining { get; }
}

internal sealed class ListFeed<T>(IReadOnlyList<T> items) : IClusterFeed<T>
{
    private long _next;

    public long? Remaining => Math.Max(0, items.Count - Interlocked.Read(ref _next));

    public ValueTask<PendingChunk<T>?> TakeAsync(int max, CancellationToken cancellationToken)
    {
        while (true)
        {
            long start = Interlocked.Read(ref _next);
            if (start >= items.Count)
            {
                return new((PendingChunk<T>?)null);
            }

            long end = Math.Min(items.Count, start + max);
            if (Interlocked.CompareExchange(ref _next, end, start) == start)
            {
                var chunk = new T[end - start];
                for (long i = start; i < end; i++)
                {
                    chunk[i - start] = items[(int)i];
                }

                return new(new PendingChunk<T>(start, chunk));
            }
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>
/// An async stream read only when a silo asks for a chunk (backpressure: what is read is at most what the silos'
/// chunks in flight hold). A chunk takes what the stream has ready after its first item, so a slow stream does not
/// hold a silo back until a whole chunk has arrived.
/// </summary>
internal sealed class AsyncFeed<T>(IAsyncEnumerable<T> items) : IClusterFeed<T>
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IAsyncEnumerator<T>? _enumerator;
    private Task<bool>? _pendingMove;
    private long _read;
    private bool _ended;

    public long? Remaining => null;

    public async ValueTask<PendingChunk<T>?> TakeAsync(int max, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_ended)
            {
                return null;
            }

            _enumerator ??= items.GetAsyncEnumerator(cancellationToken);
            var taken = new List<T>(Math.Min(max, 1024));
            while (taken.Count < max)
            {
                bool moved;
                if (_pendingMove is { } pending)
                {
                    if (taken.Count > 0 && !pending.IsCompleted)
                    {
                        break;
                    }

                    // Nothing taken yet: waiting is cancellable (a stream that ignores the token must not hold the
                    // map's end), and the move stays pending for whoever disposes the stream.
                    moved = await pending.WaitAsync(cancellationToken).ConfigureAwait(false);
                    _pendingMove = null;
                }
                else
                {
                    ValueTask<bool> move = _enumerator.MoveNextAsync();
                    if (!move.IsCompleted)
                    {
                        _pendingMove = move.AsTask(); // the next chunk starts with it, or this one waits for it
                        if (taken.Count > 0)
                        {
                            break;
                        }

                        continue;
                    }

                    moved = await move.ConfigureAwait(false);
                }

                if (!moved)
                {
                    _ended = true;
                    break;
                }

                taken.Add(_enumerator.Current);
            }

            if (taken.Count == 0)
            {
                return null;
            }

            long first = _read;
            _read += taken.Count;
            return new PendingChunk<T>(first, [.. taken]);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_pendingMove is { IsCompleted: false } pending && _enumerator is { } waiting)
        {
            // The map ended (cancelled, or failed) while the stream had not answered, and it ignores the token: the
            // map does not wait for it; the stream is disposed when it answers (disposing it during a move is not allowed).
            _ = pending.ContinueWith(
                static (_, e) => DisposeQuietlyAsync((IAsyncEnumerator<T>)e!),
                waiting,
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
            return;
        }

        if (_pendingMove is { } pending2)
        {
            try
            {
                await pending2.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // the map is over; the stream's failure after it is of no use to anyone
            }
        }

        if (_enumerator is { } enumerator)
        {
            await enumerator.DisposeAsync().ConfigureAwait(false);
        }

        _gate.Dispose();
    }

    private static async Task DisposeQuietlyAsync(IAsyncEnumerator<T> enumerator)
    {
        try
        {
            await enumerator.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // long after its map ended: nobody is left to tell
        }
    }
}
