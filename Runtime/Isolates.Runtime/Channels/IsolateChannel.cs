using System.Threading.Channels;
using Isolates.Channels;
using Isolates.Wire;

namespace Isolates;

/// <summary>
/// Channels that isolates (and the host) share: a <see cref="Channel{T}"/> whose <c>Reader</c> and
/// <c>Writer</c> can be passed as call arguments, returned as results and sent through other
/// channels, to any isolate. Each end is typed in the context that holds it: an isolate reading a
/// <c>ChannelReader&lt;Order&gt;</c> gets its own <c>Order</c> instances. Items are copied (encoded by the writer,
/// decoded by the reader) unless the element type is an immutable framework type, which travels as it is.
/// </summary>
public static partial class IsolateChannel
{
    /// <summary>Creates a bounded channel: writers wait (asynchronously) while it holds <paramref name="capacity"/> items.</summary>
    /// <typeparam name="T">The element type; must be shareable.</typeparam>
    /// <param name="capacity">How many items it holds before writers wait; at least 1.</param>
    /// <returns>The channel; pass its <c>Reader</c> and <c>Writer</c> to isolates.</returns>
    /// <exception cref="NotShareableException"><typeparamref name="T"/> cannot cross between isolates.</exception>
    public static Channel<T> CreateBounded<T>(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        return CreateBounded<T>(new BoundedChannelOptions(capacity));
    }

    /// <summary>
    /// Creates a bounded channel with the given options. <see cref="BoundedChannelOptions.FullMode"/> is honoured;
    /// every item a full channel drops is counted (<see cref="GetDroppedCount{T}(Channel{T})"/>) and, when
    /// <paramref name="itemDropped"/> is given, reported to it on a thread-pool thread, never silently lost.
    /// </summary>
    /// <typeparam name="T">The element type; must be shareable.</typeparam>
    /// <param name="options">Capacity, full mode, single reader/writer hints.</param>
    /// <param name="itemDropped">Called with each dropped item, rebuilt as the creator's type; optional.</param>
    /// <returns>The channel.</returns>
    /// <exception cref="NotShareableException"><typeparamref name="T"/> cannot cross between isolates.</exception>
    public static Channel<T> CreateBounded<T>(BoundedChannelOptions options, Action<T>? itemDropped = null) =>
        CreateBounded(options, itemDropped, survivesWriterFaults: false);

    /// <summary>
    /// For owners that restart faulting writers (Isolates.Hosting's host channels): with
    /// <paramref name="survivesWriterFaults"/>, an isolate that faults while holding the writer leaves the channel open
    /// for its replacement instead of failing it; <paramref name="name"/> replaces <c>channel-{id}</c> in metrics and traces.
    /// </summary>
    internal static Channel<T> CreateBounded<T>(BoundedChannelOptions options, Action<T>? itemDropped, bool survivesWriterFaults, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var copy = new BoundedChannelOptions(options.Capacity)
        {
            FullMode = options.FullMode,
            SingleReader = false, // ends may be held by several isolates; the hints would be unsafe
            SingleWriter = false,
            AllowSynchronousContinuations = false, // a writer must never run a reader's continuation inline
        };
        Channel<T> channel = Create(copy, itemDropped);
        ChannelCore core = ((IChannelEnd)channel).Core;
        core.SurvivesWriterFaults = survivesWriterFaults;
        if (name is not null)
        {
            core.Name = name; // its name in metrics and traces instead of channel-{id}
        }

        return channel;
    }

    /// <summary>Creates an unbounded channel (writers never wait). Prefer bounded channels: they apply backpressure.</summary>
    /// <typeparam name="T">The element type; must be shareable.</typeparam>
    /// <returns>The channel.</returns>
    /// <exception cref="NotShareableException"><typeparamref name="T"/> cannot cross between isolates.</exception>
    public static Channel<T> CreateUnbounded<T>() => Create<T>(null, null);

    /// <summary>How many items a full bounded channel has dropped so far (0 for channels that wait instead).</summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="channel">A channel made by <see cref="IsolateChannel"/>.</param>
    /// <returns>The number of dropped items.</returns>
    public static long GetDroppedCount<T>(Channel<T> channel)
    {
        ArgumentNullException.ThrowIfNull(channel);
        return channel is IChannelEnd end
            ? end.Core.Dropped
            : throw new ArgumentException("The channel was not created by IsolateChannel.", nameof(channel));
    }

    private static Channel<T> Create<T>(BoundedChannelOptions? bounded, Action<T>? itemDropped)
    {
        Codec codec = CodecFactory.Get(typeof(T)); // throws NotShareableException for element types that cannot cross
        ChannelCore core;
        if (codec.PassAsIs)
        {
            // Traced only if created while someone listens to the Isolates activity source (docs/observability.md).
            Type kind = Diagnostics.Tracing.Source.HasListeners() ? typeof(TracedDirectCore<>) : typeof(ChannelCore.Direct<>);
            core = (ChannelCore)Activator.CreateInstance(kind.MakeGenericType(typeof(T)), bounded, itemDropped)!;
        }
        else
        {
            Action<Message>? dropped = itemDropped is null
                ? null
                : message => itemDropped(message.Decode(codec, codec as GeneratedCodec<T>));
            core = new ChannelCore.Encoded(typeof(T).FullName!, bounded, dropped);
        }

        core.Capacity = bounded?.Capacity ?? 0;
        return new IsolateChannelPair<T>(core);
    }
}
