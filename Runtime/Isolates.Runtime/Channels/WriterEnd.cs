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

    public override ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken = default) => ChannelErrors.Guard(inner.WaitToWriteAsync(WaitToken.For(cancellationToken)));
}
