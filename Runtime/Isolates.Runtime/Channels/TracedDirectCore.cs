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

    public override Type DirectElementType => typeof(TElement);

    public override ChannelReader<T> CreateReader<T>() => (ChannelReader<T>)(object)new Reader(this, _channel.Reader);

    public override ChannelWriter<T> CreateWriter<T>() => (ChannelWriter<T>)(object)new Writer(this, _channel.Writer);

    public override bool TryFail(Exception exception) => _channel.Writer.TryComplete(exception);

    /// <summary>An item and the context of the writer that wrote it (null when the writer had no current activity).</summary>
    private readonly record struct Traced(TElement Item, TraceParent? Trace);

    private sealed class Reader(ChannelCore core, ChannelReader<Traced> inner) : ReaderEnd<TElement, Traced>(core, inner)
    {
        public override bool TryRead(out TElement item)
        {
            bool read = Inner.TryRead(out Traced traced);
            item = Take(traced, read);
            return read;
        }

        public override bool TryPeek(out TElement item)
        {
            bool peeked = Inner.TryPeek(out Traced traced);
            item = traced.Item;
            return peeked;
        }

        protected override ValueTask<TElement> ReadBufferedAsync(CancellationToken cancellationToken)
        {
            ValueTask<Traced> read = Inner.ReadAsync(cancellationToken);
            return read.IsCompletedSuccessfully ? new(Take(read.Result, true)) : ReadSlowAsync(read);
        }

        private async ValueTask<TElement> ReadSlowAsync(ValueTask<Traced> read) => Take(await read.ConfigureAwait(false), true);

        private TElement Take(Traced traced, bool read)
        {
            if (read)
            {
                ChannelTelemetry.Received(Core, read: true);
                if (traced.Trace is { } trace)
                {
                    Tracing.Received(trace, Core);
                }
            }

            return traced.Item;
        }
    }

    private sealed class Writer(ChannelCore core, ChannelWriter<Traced> inner) : WriterEnd<TElement, Traced>(core, inner)
    {
        public override bool TryWrite(TElement item) => ChannelTelemetry.Sent(Core, Inner.TryWrite(new Traced(item, Tracing.CaptureForSend(Core))));

        public override ValueTask WriteAsync(TElement item, CancellationToken cancellationToken = default) =>
            cancellationToken.IsCancellationRequested
                ? ValueTask.FromCanceled(cancellationToken)
                : ChannelErrors.Guard(ChannelTelemetry.Sent(Core, WriteBufferedAsync(new Traced(item, Tracing.CaptureForSend(Core)), cancellationToken)));
    }
}
