using System.Runtime.CompilerServices;
using Isolates.Channels;

namespace Isolates.Diagnostics;

/// <summary>
/// Counts channel items for the sent/received instruments. The channel ends call these around their reads and
/// writes; while nobody listens each call costs one field read and returns what it was given.
/// </summary>
internal static class ChannelTelemetry
{
    // Every live channel, weakly, so the queue-length instrument can enumerate them when a listener collects.
    private static readonly ConditionalWeakTable<ChannelCore, object?> Live = [];

    public static void Track(ChannelCore core) => Live.AddOrUpdate(core, null);

    /// <summary>One measurement per live channel: the items its buffer holds.</summary>
    public static IEnumerable<System.Diagnostics.Metrics.Measurement<long>> ObserveQueueLengths()
    {
        foreach (KeyValuePair<ChannelCore, object?> entry in Live)
        {
            yield return new(entry.Key.BufferedCount, Tag(entry.Key));
        }
    }

    public static bool Sent(ChannelCore core, bool written)
    {
        if (written && Instruments.MessagesSent.Enabled)
        {
            Instruments.MessagesSent.Add(1, Tag(core));
        }

        return written;
    }

    public static ValueTask Sent(ChannelCore core, ValueTask write)
    {
        if (!Instruments.MessagesSent.Enabled)
        {
            return write;
        }

        if (write.IsCompletedSuccessfully)
        {
            Instruments.MessagesSent.Add(1, Tag(core));
            return write;
        }

        return SentAsync(core, write);
    }

    public static bool Received(ChannelCore core, bool read)
    {
        if (read && Instruments.MessagesReceived.Enabled)
        {
            Instruments.MessagesReceived.Add(1, Tag(core));
        }

        return read;
    }

    public static ValueTask<T> Received<T>(ChannelCore core, ValueTask<T> read)
    {
        if (!Instruments.MessagesReceived.Enabled)
        {
            return read;
        }

        if (read.IsCompletedSuccessfully)
        {
            Instruments.MessagesReceived.Add(1, Tag(core));
            return read;
        }

        return ReceivedAsync(core, read);
    }

    /// <summary>An encoded item taken by a reader: counted, and its writer's trace context turned into a consumer activity.</summary>
    public static void Received(ChannelCore core, Message message)
    {
        Received(core, read: true);
        if (message.Trace is { } trace)
        {
            Tracing.Received(trace, core);
        }
    }

    private static async ValueTask SentAsync(ChannelCore core, ValueTask write)
    {
        await write.ConfigureAwait(false);
        Instruments.MessagesSent.Add(1, Tag(core));
    }

    private static async ValueTask<T> ReceivedAsync<T>(ChannelCore core, ValueTask<T> read)
    {
        T item = await read.ConfigureAwait(false);
        Instruments.MessagesReceived.Add(1, Tag(core));
        return item;
    }

    private static KeyValuePair<string, object?> Tag(ChannelCore core) =>
        new(Instruments.DestinationTag, core.Name);
}
