using System.Threading.Channels;
using Isolates.Diagnostics;

namespace Isolates.Channels;

/// <summary>
/// A channel of a shared immutable element type (like <see cref="ChannelCore.Direct{TElement}"/>: the values
/// themselves are buffered) that also carries each writer's trace context beside its item. Chosen instead of the
/// plain direct core only when the channel is created while the <c>Isolates</c> activity source has a listener,
/// so channels of an untraced process keep the zero-overhead buffer; see docs/observability.md.
/// </summary>
/// <typeparam name="TElement">The element type, an immutable framework type.</typeparam>
internal sealed class TracedDirectCore<TElement> : ChannelCore
{
    private readonly Channel<Traced> _channel;

    public TracedDirectCore(BoundedChannelOptions? bounded, Action<TElement>? dropped)
        : base(typeof(TElement).FullName!)
    {
        _channel = CreateBuffer<Traced, TElement>(bounded, dropped, static traced => traced.Item);
    }

    public override int BufferedCount => _channel.Reader.Count;

    public override ChannelReader<T> CreateReader<T>() => (ChannelReader<T>)(object)new Reader(this, _channel.Reader);

    public override ChannelWriter<T> CreateWriter<T>() => (ChannelWriter<T>)(object)new Writer(this, _channel.Writer);

    public override bool TryFail(Exception exception) => _channel.Writer.TryComplete(exception);

    /// <summary>An item and the context of the writer that wrote it (null when the writer had no current activity).</summary>
    private readonly record struct Traced(TElement Item, TraceParent? Trace);

    private sealed class Reader(TracedDirectCore<TElement> core, ChannelReader<Traced> inner) : ChannelReader<TElement>, IChannelEnd
    {
        public ChannelCore Core => core;

        public bool IsWriter => false;

        public override Task Completion => inner.Completion;

        public override bool CanCount => inner.CanCount;

        public override int Count => inner.Count;

        public override bool CanPeek => inner.CanPeek;

        public override bool TryRead(out TElement item)
        {
            bool read = inner.TryRead(out Traced traced);
            item = Take(traced, read);
            return read;
        }

        public override bool TryPeek(out TElement item)
        {
            bool peeked = inner.TryPeek(out Traced traced);
            item = traced.Item;
            return peeked;
        }

        public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) => inner.WaitToReadAsync(NeverCancelled.Or(cancellationToken));

        public override IAsyncEnumerable<TElement> ReadAllAsync(CancellationToken cancellationToken = default) => ReadAll.Of(this, cancellationToken);

        public override ValueTask<TElement> ReadAsync(CancellationToken cancellationToken = default)
        {
            ValueTask<Traced> read = inner.ReadAsync(NeverCancelled.Or(cancellationToken));
            return read.IsCompletedSuccessfully ? new(Take(read.Result, true)) : ReadSlowAsync(read);
        }

        private async ValueTask<TElement> ReadSlowAsync(ValueTask<Traced> read) => Take(await read.ConfigureAwait(false), true);

        private TElement Take(Traced traced, bool read)
        {
            if (read)
            {
                ChannelTelemetry.Received(core, read: true);
                if (traced.Trace is { } trace)
                {
                    Tracing.Received(trace, core.Id);
                }
            }

            return traced.Item;
        }
    }

    private sealed class Writer(TracedDirectCore<TElement> core, ChannelWriter<Traced> inner) : ChannelWriter<TElement>, IChannelEnd
    {
        public ChannelCore Core => core;

        public bool IsWriter => true;

        public override bool TryComplete(Exception? error = null) => inner.TryComplete(Transfer(error));

        public override bool TryWrite(TElement item) => ChannelTelemetry.Sent(core, inner.TryWrite(new Traced(item, Tracing.CaptureForSend(core.Id))));

        public override ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken = default) => inner.WaitToWriteAsync(NeverCancelled.Or(cancellationToken));

        public override ValueTask WriteAsync(TElement item, CancellationToken cancellationToken = default) =>
            cancellationToken.IsCancellationRequested
                ? ValueTask.FromCanceled(cancellationToken)
                : ChannelTelemetry.Sent(core, inner.WriteAsync(new Traced(item, Tracing.CaptureForSend(core.Id)), NeverCancelled.Or(cancellationToken)));
    }
}
