using System.Diagnostics;
using System.Threading.Channels;

namespace Isolates.Channels;

/// <summary>
/// What every reading end shares: it forwards state and waits to the core's buffer (of <typeparamref name="TBuffered"/>),
/// passes a cancellable token so the buffer's reusable waiter never pins an isolate, resumes <c>ReadAllAsync</c> on
/// the caller's context, and, on an isolate's thread, takes an item only on that thread (see <see cref="ReadAsync"/>).
/// Subclasses turn a buffered entry into the reader's own item.
/// </summary>
internal abstract class ReaderEnd<T, TBuffered>(ChannelCore core, ChannelReader<TBuffered> inner) : ChannelReader<T>, IChannelEnd, IBufferWait
{
    public ChannelCore Core => core;

    public bool IsWriter => false;

    private Task? _isolateCompletion;

    /// <summary>In an isolate, a task of its own that fails with a fresh copy of the channel's error (<see cref="ChannelErrors"/>).</summary>
    public override Task Completion =>
        Isolate.OnThisThread is null || inner.Completion.IsCompletedSuccessfully ? inner.Completion
        : _isolateCompletion ??= ChannelErrors.GuardAsync(inner.Completion);

    public override bool CanCount => inner.CanCount;

    public override int Count => inner.Count;

    public override bool CanPeek => inner.CanPeek;

    /// <summary>The core's buffer this end reads from.</summary>
    protected ChannelReader<TBuffered> Inner => inner;

    public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default)
    {
        if (!WaitToken.NeedsLink(cancellationToken) || inner.Completion.IsCompleted
            || (inner.CanCount ? inner.Count > 0 : inner.CanPeek && inner.TryPeek(out _)))
        {
            return ChannelErrors.Guard(inner.WaitToReadAsync(WaitToken.For(cancellationToken))); // answered at once, or no wait to end with the isolate
        }

        // Isolate code that waits with a token of its own: the wait also ends when the isolate closes, or a token that
        // never fires would leave it on the channel, keeping the closed isolate's code alive (UnloadStatus.Leaked).
        return ChannelErrors.Guard(WaitToken.LinkedWaitAsync(cancellationToken, inner, static (reader, token) => reader.WaitToReadAsync(token)));
    }

    ValueTask<bool> IBufferWait.WaitToReadAsIsAsync(CancellationToken cancellationToken) => inner.WaitToReadAsync(cancellationToken);

    public override IAsyncEnumerable<T> ReadAllAsync(CancellationToken cancellationToken = default) => new ReadAll<T>(this, cancellationToken);

    /// <summary>
    /// Outside isolates, the buffer's own <c>ReadAsync</c>. On an isolate's thread, an item that is not there at once is
    /// taken only where the awaiting code continues (<see cref="DeferredTake{TResult}"/>): a buffer's <c>ReadAsync</c>
    /// takes it on another thread and posts the continuation that receives it, and a close in between dropped both.
    /// </summary>
    public sealed override ValueTask<T> ReadAsync(CancellationToken cancellationToken = default)
    {
        if (Isolate.OnThisThread is null)
        {
            return ReadBufferedAsync(WaitToken.For(cancellationToken));
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<T>(cancellationToken);
        }

        return TryRead(out T? item) ? new ValueTask<T>(item) : new ReadTake(this, cancellationToken).Start();
    }

    /// <summary>The buffer's <c>ReadAsync</c>, turned into the reader's item.</summary>
    protected abstract ValueTask<T> ReadBufferedAsync(CancellationToken cancellationToken);

    /// <summary>
    /// A <c>ReadAsync</c> by isolate code that waits. Its wait ends when the isolate closes, whatever token the caller
    /// gave (resolved here, on the isolate's thread): a token of the caller's own that never fires would leave the wait
    /// on the channel, and the channel would keep the closed isolate's code alive through it.
    /// </summary>
    private sealed class ReadTake(ReaderEnd<T, TBuffered> end, CancellationToken caller) : LinkedTake<T>(caller)
    {
        private readonly ReaderEnd<T, TBuffered> _end = end;

        protected override bool TryTake(out T result) => _end.TryRead(out result!);

        protected override ValueTask<bool> WaitAsync() => _end.Inner.WaitToReadAsync(Token);

        // A channel completed with an error: WaitToReadAsync throws it bare, ReadAsync wraps it as the framework does.
        protected override bool IsCompletion(Exception error) => !Token.IsCancellationRequested && _end.Inner.Completion.IsCompleted;

        // Completed and drained: the buffer's ReadAsync fails at once with exactly the framework's exception.
        protected override T Finished()
        {
            ValueTask<T> read = _end.ReadBufferedAsync(Token);
            Debug.Assert(read.IsCompleted, "a drained, completed buffer answers ReadAsync at once");
            return read.IsCompleted ? read.GetAwaiter().GetResult() : throw new ChannelClosedException();
        }
    }
}
