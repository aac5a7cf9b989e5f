using System.Threading.Channels;

namespace Isolates.Pool;

/// <summary>Where a parallel map takes its input from, a chunk at a time, shared by every worker.</summary>
internal abstract class ChunkSource<T>
{
    /// <summary>How many items there are, when known up front.</summary>
    public abstract long? Total { get; }

    /// <summary>The next chunk of at most <paramref name="max"/> items, or null when the input is exhausted.</summary>
    public abstract ValueTask<Chunk<T>?> TakeAsync(int max, CancellationToken cancellationToken);

    /// <summary>A list in memory: a lock-free cursor hands out index ranges.</summary>
    public sealed class FromList(IReadOnlyList<T> items) : ChunkSource<T>
    {
        private int _next;

        public override long? Total => items.Count;

        public override ValueTask<Chunk<T>?> TakeAsync(int max, CancellationToken cancellationToken)
        {
            int start = Interlocked.Add(ref _next, max) - max;
            if (start >= items.Count || start < 0)
            {
                return new((Chunk<T>?)null);
            }

            int count = Math.Min(max, items.Count - start);
            return new(new Chunk<T>(items, start, count, start));
        }
    }

    /// <summary>
    /// An async stream: a reader task copies items into a bounded channel (the backpressure), and workers drain it
    /// a chunk at a time; the lock only numbers the items, it never waits.
    /// </summary>
    public sealed class FromAsyncEnumerable : ChunkSource<T>
    {
        private readonly Channel<T> _buffer;
        private readonly Lock _numbering = new();
        private long _next;
        private long _read;

        public FromAsyncEnumerable(IAsyncEnumerable<T> items, int capacity, CancellationToken cancellationToken)
        {
            _buffer = Channel.CreateBounded<T>(new BoundedChannelOptions(capacity) { SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
            Reading = ReadAllAsync(items, cancellationToken);
        }

        public override long? Total => null;

        /// <summary>Completes when the source is read to its end; faults with the source's own exception.</summary>
        public Task Reading { get; }

        /// <summary>How many items were read from the source; final once <see cref="Reading"/> has completed.</summary>
        public long ItemsRead => Volatile.Read(ref _read);

        public override async ValueTask<Chunk<T>?> TakeAsync(int max, CancellationToken cancellationToken)
        {
            while (await _buffer.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var items = new List<T>(Math.Min(max, 256));
                long first;
                lock (_numbering)
                {
                    while (items.Count < max && _buffer.Reader.TryRead(out T? item))
                    {
                        items.Add(item);
                    }

                    first = _next;
                    _next += items.Count;
                }

                if (items.Count > 0)
                {
                    return new Chunk<T>(items, 0, items.Count, first);
                }
            }

            return null;
        }

        private async Task ReadAllAsync(IAsyncEnumerable<T> items, CancellationToken cancellationToken)
        {
            IAsyncEnumerator<T> enumerator = items.GetAsyncEnumerator(cancellationToken);
            Task<bool>? unanswered = null;
            try
            {
                while (true)
                {
                    ValueTask<bool> move = enumerator.MoveNextAsync();
                    bool moved;
                    if (move.IsCompleted)
                    {
                        moved = await move.ConfigureAwait(false);
                    }
                    else
                    {
                        // A stream may ignore the token (a read with no timeout): waiting for its answer must not be
                        // what keeps a cancelled map, and the pool's dispose, pending.
                        Task<bool> pending = move.AsTask();
                        try
                        {
                            moved = await pending.WaitAsync(cancellationToken).ConfigureAwait(false);
                        }
                        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                        {
                            unanswered = pending;
                            throw;
                        }
                    }

                    if (!moved)
                    {
                        break;
                    }

                    await _buffer.Writer.WriteAsync(enumerator.Current, cancellationToken).ConfigureAwait(false);
                    Volatile.Write(ref _read, _read + 1); // only this reader writes it: no interlocked needed
                }

                _buffer.Writer.TryComplete();
            }
            catch (Exception ex)
            {
                _buffer.Writer.TryComplete(ex);
                throw;
            }
            finally
            {
                if (unanswered is { IsCompleted: false })
                {
                    // Disposing an enumerator during a move is not allowed: it is disposed when the move returns.
                    _ = DisposeWhenAnsweredAsync(unanswered, enumerator);
                }
                else
                {
                    _ = unanswered?.Exception; // answered meanwhile: observed, its item or failure comes too late to matter
                    await enumerator.DisposeAsync().ConfigureAwait(false);
                }
            }
        }

        /// <summary>Disposes a stream whose move outlived its map; what it answers or throws then has nobody to go to.</summary>
        private static async Task DisposeWhenAnsweredAsync(Task<bool> move, IAsyncEnumerator<T> enumerator)
        {
            try
            {
                await move.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The map ended cancelled before the stream failed: observed here, reported nowhere.
            }

            try
            {
                await enumerator.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Long after its map ended; the map already reported why it stopped.
            }
        }
    }
}
