using System.Threading.Channels;

namespace Isolates.Channels;

/// <summary>
/// What every writing end shares: completion goes to the core's buffer with an isolate's exception in its remote
/// form, and waits pass a cancellable token so the buffer's reusable waiter never pins an isolate. Subclasses turn the
/// writer's item into a buffered entry.
/// </summary>
internal abstract class WriterEnd<T, TBuffered>(ChannelCore core, ChannelWriter<TBuffered> inner) : ChannelWriter<T>, IChannelEnd
{
    public ChannelCore Core => core;

    public bool IsWriter => true;

    /// <summary>The core's buffer this end writes to.</summary>
    protected ChannelWriter<TBuffered> Inner => inner;

    public override bool TryComplete(Exception? error = null) => inner.TryComplete(ChannelCore.Transfer(error));

    public override ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken = default) =>
        ChannelErrors.Guard(WaitToken.NeedsLink(cancellationToken)
            ? WaitToken.LinkedWaitAsync(cancellationToken, inner, static (writer, token) => writer.WaitToWriteAsync(token))
            : inner.WaitToWriteAsync(WaitToken.For(cancellationToken)));

    /// <summary>
    /// The buffer's <c>WriteAsync</c> of an entry. Isolate code that may wait for room with a token of its own also stops
    /// waiting when its isolate closes: a token that never fires would leave the write on the channel, keeping the
    /// closed isolate's code alive (UnloadStatus.Leaked) and putting the item in later, after its writer was gone.
    /// </summary>
    protected ValueTask WriteBufferedAsync(TBuffered entry, CancellationToken cancellationToken) =>
        !WaitToken.NeedsLink(cancellationToken) ? inner.WriteAsync(entry, WaitToken.For(cancellationToken))
        : inner.TryWrite(entry) ? default
        : WriteLinkedAsync(entry, cancellationToken);

    private async ValueTask WriteLinkedAsync(TBuffered entry, CancellationToken cancellationToken)
    {
        using CancellationTokenSource linked = WaitToken.LinkWithClosing(cancellationToken)!;
        try
        {
            await inner.WriteAsync(entry, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken); // the caller's own token, as the framework's write throws
        }
    }
}
