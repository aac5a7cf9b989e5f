using System.Threading.Channels;

namespace Isolates.Channels;

/// <summary>
/// <c>ReadAllAsync</c> for the runtime's reader ends. The base implementation awaits with <c>ConfigureAwait(false)</c>,
/// so in an isolate every wait resumed on a thread-pool thread, which then posted the loop body back to the isolate:
/// two hand-offs per wake-up. Here a step that must wait is a <see cref="DeferredTake{TResult}"/>: awaited in an
/// isolate, the take is posted to it and the loop body continues inline (one hand-off); on the host, with no context,
/// it is taken and continued on the thread that saw the item arrive.
/// </summary>
/// <remarks>
/// Not a C# async iterator on purpose: an iterator completes <c>MoveNextAsync</c> through a value-task source that always
/// <em>posts</em> the consumer's continuation to its context, so an item taken on the isolate's thread waited in a posted
/// callback that a close drops (issue 11: 3 of 200 closes lost one).
/// </remarks>
internal sealed class ReadAll<T>(ChannelReader<T> reader, CancellationToken readAllToken) : IAsyncEnumerable<T>
{
    public IAsyncEnumerator<T> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        if (!cancellationToken.CanBeCanceled || cancellationToken == readAllToken)
        {
            return new Enumerator(reader, readAllToken, linked: null);
        }

        if (!readAllToken.CanBeCanceled)
        {
            return new Enumerator(reader, cancellationToken, linked: null);
        }

        // Both tokens stop the enumeration, as [EnumeratorCancellation] combines them for an async iterator.
        var linked = CancellationTokenSource.CreateLinkedTokenSource(readAllToken, cancellationToken);
        return new Enumerator(reader, linked.Token, linked);
    }

    private sealed class Enumerator(ChannelReader<T> reader, CancellationToken cancellationToken, CancellationTokenSource? linked) : IAsyncEnumerator<T>
    {
        private readonly ChannelReader<T> _reader = reader;
        private T _current = default!;
        private bool _started;

        public T Current => _current;

        public ValueTask<bool> MoveNextAsync()
        {
            // The framework's ReadAllAsync starts with a wait, which fails for a token already cancelled even when items
            // are buffered; later steps drain what is buffered before they wait (and look at the token) again.
            if (!_started)
            {
                _started = true;
                if (cancellationToken.IsCancellationRequested)
                {
                    return ValueTask.FromCanceled<bool>(cancellationToken);
                }
            }

            if (_reader.TryRead(out T? item))
            {
                _current = item;
                return new ValueTask<bool>(true);
            }

            // The token is resolved here, on the caller's thread: in an isolate, the wait also ends when it closes.
            return new NextTake(this, cancellationToken).Start();
        }

        public ValueTask DisposeAsync()
        {
            linked?.Dispose();
            return default;
        }

        private sealed class NextTake(Enumerator enumerator, CancellationToken caller) : LinkedTake<bool>(caller)
        {
            private readonly Enumerator _enumerator = enumerator;

            protected override bool TryTake(out bool result)
            {
                result = _enumerator._reader.TryRead(out T? item);
                if (result)
                {
                    _enumerator._current = item!;
                }

                return result;
            }

            // As ReadAllAsync does: a channel completed with an error throws it from the wait, bare.
            protected override ValueTask<bool> WaitAsync() =>
                _enumerator._reader is IBufferWait buffer ? buffer.WaitToReadAsIsAsync(Token) : _enumerator._reader.WaitToReadAsync(Token);

            protected override bool Finished() => false;
        }
    }
}
