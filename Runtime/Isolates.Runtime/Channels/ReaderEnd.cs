using System.Threading.Channels;

namespace Isolates.Channels;

/// <summary>
/// What every reading end shares: it forwards state and waits to the core's buffer (of <typeparamref name="TBuffered"/>),
/// passes a cancellable token so the buffer's reusable waiter never pins an isolate, and resumes
/// <c>ReadAllAsync</c> on the caller's context. Subclasses turn a buffered entry into the reader's own item.
/// </summary>
internal abstract class ReaderEnd<T, TBuffered>(ChannelCore core, ChannelReader<TBuffered> inner) : ChannelReader<T>, IChannelEnd
{
    public ChannelCore Core => core;

    public bool IsWriter => false;

    public override Task Completion => inner.Completion;

    public override bool CanCount => inner.CanCount;

    public override int Count => inner.Count;

    public override bool CanPeek => inner.CanPeek;

    /// <summary>The core's buffer this end reads from.</summary>
    protected ChannelReader<TBuffered> Inner => inner;

    public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) => inner.WaitToReadAsync(WaitToken.For(cancellationToken));

    public override IAsyncEnumerable<T> ReadAllAsync(CancellationToken cancellationToken = default) => ReadAll.Of(this, cancellationToken);
}
