using System.Diagnostics;
using System.Threading.Channels;

namespace Isolates.Channels;

/// <summary>
/// What every reading end shares: it forwards state and waits to the core's buffer (of <typeparamref name="TBuffered"/>),
/// passes a cancellable token so the buffer's reusable waiter never pins an isolate, resumes <c>ReadAllAsync</c> on
/// the caller's context, and, on an isolate's thread, takes an item only on that thread (see <see cref="ReadAsync"/>).
/// Subclasses turn a buffered entry into the reader's own item.
/// </summary>
internal abstract class ReaderEnd<T, TBuffered>(ChannelCore core, ChannelReader<TBuffered> inner) : ChannelReader<T>, IChannelEnd
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

    public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) => ChannelErrors.Guard(inner.WaitToReadAsync(WaitToken.For(cancellationToken)));

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

        return TryRead(out T? item) ? new ValueTask<T>(item) : new ReadTake(this, WaitToken.For(cancellationToken)).Start();
    }

    /// <summary>The buffer's <c>ReadAsync</c>, turned into the reader's item.</summary>
    protected abstract ValueTask<T> ReadBufferedAsync(CancellationToken cancellationToken);

    /// <summary>A <c>ReadAsync</c> by isolate code that waits; <paramref name="token"/> is resolved on the isolate's thread (its closing token if the caller gave none).</summary>
    private sealed class ReadTake(ReaderEnd<T, TBuffered> end, CancellationToken token) : DeferredTake<T>
    {
        protected override bool TryTake(out T result) => end.TryRead(out result!);

        protected override ValueTask<bool> WaitAsync() => end.Inner.WaitToReadAsync(token);

        // A channel completed with an error: WaitToReadAsync throws it bare, ReadAsync wraps it as the framework does.
        protected override bool IsCompletion(Exception error) => !token.IsCancellationRequested && end.Inner.Completion.IsCompleted;

        // Completed and drained: the buffer's ReadAsync fails at once with exactly the framework's exception.
        protected override T Finished()
        {
            ValueTask<T> read = end.ReadBufferedAsync(token);
            Debug.Assert(read.IsCompleted, "a drained, completed buffer answers ReadAsync at once");
            return read.IsCompleted ? read.GetAwaiter().GetResult() : throw new ChannelClosedException();
        }
    }
}
