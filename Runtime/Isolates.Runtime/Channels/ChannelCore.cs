using System.Threading.Channels;
using Isolates.Diagnostics;
using Isolates.Errors;
using Isolates.Wire;

namespace Isolates.Channels;

/// <summary>
/// The one shared object behind a channel, living in the runtime's (default) context: its buffer, its completion
/// and its counters. Every end, in every isolate, is an adapter over the same core typed in its own context.
/// The buffer holds either the values themselves (immutable framework element types: zero copy) or encoded
/// messages (everything else), so the core never references a type or object of any isolate.
/// </summary>
internal abstract class ChannelCore
{
    private static long s_nextId;
    private long _dropped;
    private string? _name;

    protected ChannelCore(string elementTypeName)
    {
        Id = Interlocked.Increment(ref s_nextId);
        ElementTypeName = elementTypeName;
        ChannelTelemetry.Track(this); // weakly, for the queue-length instrument
    }

    public long Id { get; }

    /// <summary>
    /// The channel's name in metrics and traces: <c>channel-{id}</c>, or the name its owner gave (a host channel's
    /// configured name). Set before the channel is used.
    /// </summary>
    public string Name
    {
        get => _name ??= "channel-" + Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        set => _name = value;
    }

    /// <summary>The full name of the element type; ends of other contexts must declare a type of the same name.</summary>
    public string ElementTypeName { get; }

    /// <summary>How many items a full bounded channel dropped (DropOldest, DropNewest, DropWrite).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>
    /// True for a channel whose owner replaces writers that fault (a supervising host): a faulting writer isolate then
    /// leaves it open instead of failing it, because a restarted writer will carry on. False (the default) otherwise.
    /// </summary>
    public bool SurvivesWriterFaults { get; set; }

    /// <summary>How many items the buffer holds now (for monitoring).</summary>
    public abstract int BufferedCount { get; }

    /// <summary>The capacity of a bounded channel; 0 for an unbounded one. Sizes the window of a bridge to a child process.</summary>
    public int Capacity { get; set; }

    /// <summary>The element type of a core that buffers the values themselves; null for an encoded core.</summary>
    public virtual Type? DirectElementType => null;

    public abstract ChannelReader<T> CreateReader<T>();

    public abstract ChannelWriter<T> CreateWriter<T>();

    /// <summary>Completes the channel from the runtime, e.g. because an isolate holding a writer faulted.</summary>
    public abstract bool TryFail(Exception exception);

    protected void CountDrop() => Interlocked.Increment(ref _dropped);

    /// <summary>
    /// The exception to complete the channel with: one thrown inside an isolate becomes its string-built form, so
    /// readers elsewhere never hold the isolate's own exception object.
    /// </summary>
    internal static Exception? Transfer(Exception? exception) =>
        exception is null || exception is IsolateException || Isolate.Current is not { } isolate
            ? exception
            : ExceptionTransfer.ToRemote(exception, isolate.Id, isolate.Name);

    /// <summary>A core whose element type is shared and immutable: the values themselves are buffered.</summary>
    public sealed class Direct<TElement> : ChannelCore
    {
        private readonly Channel<TElement> _channel;

        public Direct(BoundedChannelOptions? bounded, Action<TElement>? dropped)
            : base(typeof(TElement).FullName!)
        {
            _channel = CreateBuffer<TElement, TElement>(bounded, dropped, static item => item);
        }

        /// <summary>A core over a buffer of the caller's making (the child's side of a bridge to its host's channel).</summary>
        public Direct(Channel<TElement> buffer)
            : base(typeof(TElement).FullName!)
        {
            _channel = buffer;
        }

        public override Type DirectElementType => typeof(TElement);

        public override int BufferedCount => _channel.Reader.Count;

        public override ChannelReader<T> CreateReader<T>() => (ChannelReader<T>)(object)new DirectReader(this, _channel.Reader);

        public override ChannelWriter<T> CreateWriter<T>() => (ChannelWriter<T>)(object)new DirectWriter(this, _channel.Writer);

        public override bool TryFail(Exception exception) => _channel.Writer.TryComplete(exception);

        private sealed class DirectReader(ChannelCore core, ChannelReader<TElement> inner) : ReaderEnd<TElement, TElement>(core, inner)
        {
            public override bool TryRead(out TElement item) => ChannelTelemetry.Received(Core, Inner.TryRead(out item!));

            public override bool TryPeek(out TElement item) => Inner.TryPeek(out item!);

            protected override ValueTask<TElement> ReadBufferedAsync(CancellationToken cancellationToken) => ChannelTelemetry.Received(Core, Inner.ReadAsync(cancellationToken));
        }

        private sealed class DirectWriter(ChannelCore core, ChannelWriter<TElement> inner) : WriterEnd<TElement, TElement>(core, inner)
        {
            public override bool TryWrite(TElement item) => ChannelTelemetry.Sent(Core, Inner.TryWrite(item));

            public override ValueTask WriteAsync(TElement item, CancellationToken cancellationToken = default) => ChannelErrors.Guard(ChannelTelemetry.Sent(Core, WriteBufferedAsync(item, cancellationToken)));
        }
    }

    /// <summary>A core whose elements are encoded: each end encodes or decodes with its own context's codec.</summary>
    public sealed class Encoded : ChannelCore
    {
        private readonly Channel<Message> _channel;

        public Encoded(string elementTypeName, BoundedChannelOptions? bounded, Action<Message>? dropped)
            : base(elementTypeName)
        {
            _channel = CreateBuffer<Message, Message>(bounded, dropped, static message => message);
        }

        /// <summary>A core over a buffer of the caller's making (the child's side of a bridge to its host's channel).</summary>
        public Encoded(string elementTypeName, Channel<Message> buffer)
            : base(elementTypeName)
        {
            _channel = buffer;
        }

        /// <summary>The buffer itself, for a bridge to a child process: it moves the encoded messages as they are.</summary>
        public Channel<Message> Buffer => _channel;

        public override int BufferedCount => _channel.Reader.Count;

        public override ChannelReader<T> CreateReader<T>() => new EncodedReader<T>(this, _channel.Reader, CodecFactory.Get(typeof(T)));

        public override ChannelWriter<T> CreateWriter<T>() => new EncodedWriter<T>(this, _channel.Writer, CodecFactory.Get(typeof(T)));

        public override bool TryFail(Exception exception) => _channel.Writer.TryComplete(exception);
    }

    /// <summary>
    /// The buffer behind a core: unbounded, bounded and waiting when full (the lock-free <see cref="RingChannel{T}"/>, up
    /// to its largest capacity: it allocates every slot up front, where the framework's channel grows as items come),
    /// or bounded with a full mode that drops, where every dropped item is counted and,
    /// when the creator gave a callback, reported to it on the thread pool (never inline in the writer that caused it).
    /// </summary>
    protected Channel<TBuffered> CreateBuffer<TBuffered, TReported>(BoundedChannelOptions? bounded, Action<TReported>? dropped, Func<TBuffered, TReported> reported) =>
        bounded is null
            ? Channel.CreateUnbounded<TBuffered>(new UnboundedChannelOptions { AllowSynchronousContinuations = false })
            : bounded.FullMode == BoundedChannelFullMode.Wait && bounded.Capacity <= RingChannel<TBuffered>.MaxCapacity
            ? new RingChannel<TBuffered>(bounded.Capacity) // nothing is ever dropped; see RingChannel for why it is not the framework's
            : Channel.CreateBounded<TBuffered>(bounded, item =>
            {
                CountDrop();
                if (dropped is not null)
                {
                    ThreadPool.UnsafeQueueUserWorkItem(static s => ReportDrop(s.dropped, s.item), (dropped, item: reported(item)), preferLocal: false);
                }
            });

    private static void ReportDrop<TItem>(Action<TItem> callback, TItem item)
    {
        try
        {
            callback(item);
        }
        catch (Exception)
        {
            // The drop is already counted (Dropped); a failing callback must not take the process down.
        }
    }
}
