using System.Threading.Channels;

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
    public static async ValueTask<Selected<T>> SelectAsync<T>(IReadOnlyList<ChannelReader<T>> readers, CancellationToken cancellationToken = default)
    {
        ValidateReaders(readers);
        int start = unchecked((int)((uint)Interlocked.Increment(ref s_selectRotation) % (uint)readers.Count));
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            for (int k = 0; k < readers.Count; k++)
            {
                int i = (start + k) % readers.Count;
                if (readers[i].TryRead(out T? item))
                {
                    return new Selected<T>(item, readers[i], i);
                }
            }

            using var anyReady = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var waits = new List<Task<bool>>(readers.Count);
            foreach (ChannelReader<T> reader in readers)
            {
                waits.Add(reader.WaitToReadAsync(anyReady.Token).AsTask());
            }

            while (waits.Count > 0)
            {
                Task<bool> done = await Task.WhenAny(waits).ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
                if (done.IsCompletedSuccessfully && done.Result)
                {
                    break; // something to read: go round again
                }

                if (done.IsFaulted)
                {
                    await done.ConfigureAwait(false); // a reader completed with an error: surface it
                }

                waits.Remove(done); // completed without items: wait for the others
            }

            if (waits.Count == 0)
            {
                throw new ChannelClosedException("Every channel given to SelectAsync is completed and empty.");
            }

            await anyReady.CancelAsync().ConfigureAwait(false); // stop the other waits
        }
    }

    /// <summary>The same as <see cref="SelectAsync{T}(IReadOnlyList{ChannelReader{T}}, CancellationToken)"/>, giving up after <paramref name="timeout"/>.</summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="readers">The readers to wait on.</param>
    /// <param name="timeout">How long to wait at most.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The item, its reader and that reader's index.</returns>
    /// <exception cref="TimeoutException">No item arrived within <paramref name="timeout"/>.</exception>
    public static async ValueTask<Selected<T>> SelectAsync<T>(IReadOnlyList<ChannelReader<T>> readers, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ValidateReaders(readers);
        using var timed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timed.CancelAfter(timeout);
        try
        {
            return await SelectAsync(readers, timed.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timed.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"No item arrived on any of {readers.Count} channels within {timeout}.");
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
