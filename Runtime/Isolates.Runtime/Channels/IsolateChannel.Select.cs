using System.Threading.Channels;
using Isolates.Channels;

namespace Isolates;

/// <summary>Waiting on several channels at once.</summary>
public static partial class IsolateChannel
{
    /// <summary>
    /// Waits until any of <paramref name="readers"/> has an item, reads it and says which reader it came from. Readers
    /// are tried in turn from a rotating start, so a busy channel cannot starve the others. Completed readers are
    /// skipped; when all are completed, throws <see cref="ChannelClosedException"/>.
    /// </summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="readers">The readers to wait on; at least one, none null.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The item, its reader and that reader's index.</returns>
    /// <exception cref="ChannelClosedException">Every reader is completed and empty.</exception>
    public static ValueTask<Selected<T>> SelectAsync<T>(IReadOnlyList<ChannelReader<T>> readers, CancellationToken cancellationToken = default)
    {
        ValidateReaders(readers);
        return Select(readers, cancellationToken, timeout: null);
    }

    /// <summary>The same as <see cref="SelectAsync{T}(IReadOnlyList{ChannelReader{T}}, CancellationToken)"/>, giving up after <paramref name="timeout"/>.</summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="readers">The readers to wait on.</param>
    /// <param name="timeout">How long to wait at most: positive, or <see cref="Timeout.InfiniteTimeSpan"/>.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The item, its reader and that reader's index.</returns>
    /// <exception cref="TimeoutException">No item arrived within <paramref name="timeout"/>.</exception>
    public static ValueTask<Selected<T>> SelectAsync<T>(IReadOnlyList<ChannelReader<T>> readers, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ValidateReaders(readers);
        if (timeout != Timeout.InfiniteTimeSpan && (timeout < TimeSpan.Zero || timeout.TotalMilliseconds > uint.MaxValue - 1))
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "SelectAsync's timeout must be zero or positive (at most ~49 days), or Timeout.InfiniteTimeSpan.");
        }

        return Select(readers, cancellationToken, timeout == Timeout.InfiniteTimeSpan ? null : timeout);
    }

    private static ValueTask<Selected<T>> Select<T>(IReadOnlyList<ChannelReader<T>> readers, CancellationToken cancellationToken, TimeSpan? timeout)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<Selected<T>>(cancellationToken);
        }

        int start = unchecked((int)((uint)Interlocked.Increment(ref s_selectRotation) % (uint)readers.Count));
        if (SelectTake<T>.TryReadAny(readers, start, out Selected<T> selected))
        {
            return new ValueTask<Selected<T>>(selected);
        }

        // Resolved on the caller's thread: in an isolate, its waits also end when it closes, so a wait left on a channel
        // nobody writes to cannot keep the closed isolate's continuation, and so the isolate, alive.
        CancellationToken closing = Isolate.OnThisThread?.ClosingToken ?? default;
        return new SelectTake<T>(readers, start, cancellationToken, closing, timeout).Start();
    }

    /// <summary>
    /// A select that waits. The item is read where the caller continues (see <see cref="DeferredTake{TResult}"/>): in an
    /// isolate, in the same turn that returns it to the caller, so a close never drops an item already read (issue 11).
    /// </summary>
    private sealed class SelectTake<T> : DeferredTake<Selected<T>>
    {
        private readonly IReadOnlyList<ChannelReader<T>> _readers;
        private readonly int _start;
        private readonly CancellationToken _cancellationToken;
        private readonly CancellationToken _closing;
        private readonly TimeSpan? _timeout;
        private readonly CancellationTokenSource? _timed;

        public SelectTake(IReadOnlyList<ChannelReader<T>> readers, int start, CancellationToken cancellationToken, CancellationToken closing, TimeSpan? timeout)
        {
            _readers = readers;
            _start = start;
            _cancellationToken = cancellationToken;
            _closing = closing;
            _timeout = timeout;
            if (timeout is { } limit)
            {
                _timed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                _timed.CancelAfter(limit);
            }
        }

        /// <summary>Tries each reader in turn from a rotating start, so a busy channel cannot starve the others.</summary>
        public static bool TryReadAny(IReadOnlyList<ChannelReader<T>> readers, int start, out Selected<T> selected)
        {
            for (int k = 0; k < readers.Count; k++)
            {
                int i = (start + k) % readers.Count;
                if (readers[i].TryRead(out T? item))
                {
                    selected = new Selected<T>(item, readers[i], i);
                    return true;
                }
            }

            selected = default;
            return false;
        }

        protected override bool TryTake(out Selected<T> result) => TryReadAny(_readers, _start, out result);

        protected override ValueTask<bool> WaitAsync() => WaitAnyAsync();

        protected override Selected<T> Finished() => throw new ChannelClosedException("Every channel given to SelectAsync is completed and empty.");

        protected override void Release() => _timed?.Dispose();

        /// <summary>True when some reader has an item; false when every reader is completed and empty.</summary>
        private async ValueTask<bool> WaitAnyAsync()
        {
            CancellationToken token = _timed?.Token ?? _cancellationToken;
            try
            {
                using var anyReady = CancellationTokenSource.CreateLinkedTokenSource(token, _closing);
                var waits = new List<Task<bool>>(_readers.Count);
                foreach (ChannelReader<T> reader in _readers)
                {
                    waits.Add(reader.WaitToReadAsync(anyReady.Token).AsTask());
                }

                try
                {
                    while (waits.Count > 0)
                    {
                        Task<bool> done = await Task.WhenAny(waits).ConfigureAwait(false);
                        token.ThrowIfCancellationRequested();
                        if (done.IsCompletedSuccessfully && done.Result)
                        {
                            return true; // something to read
                        }

                        if (done.IsFaulted)
                        {
                            await done.ConfigureAwait(false); // a reader completed with an error: surface it
                        }

                        _closing.ThrowIfCancellationRequested();
                        waits.Remove(done); // completed without items: wait for the others
                    }

                    return false;
                }
                finally
                {
                    await anyReady.CancelAsync().ConfigureAwait(false); // stop the other waits
                }
            }
            catch (OperationCanceledException) when (_timed is { IsCancellationRequested: true } && !_cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"No item arrived on any of {_readers.Count} channels within {_timeout}.");
            }
        }
    }

    private static int s_selectRotation;

    private static void ValidateReaders<T>(IReadOnlyList<ChannelReader<T>> readers)
    {
        ArgumentNullException.ThrowIfNull(readers);
        if (readers.Count == 0)
        {
            throw new ArgumentException("SelectAsync needs at least one reader.", nameof(readers));
        }

        for (int i = 0; i < readers.Count; i++)
        {
            if (readers[i] is null)
            {
                throw new ArgumentException($"Reader {i} is null.", nameof(readers));
            }
        }
    }
}
