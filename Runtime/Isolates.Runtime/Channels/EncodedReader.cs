using System.Threading.Channels;
using Isolates.Diagnostics;
using Isolates.Wire;

namespace Isolates.Channels;

/// <summary>The reading end of an encoded channel in one context: items are decoded as this context's own <typeparamref name="T"/>.</summary>
internal sealed class EncodedReader<T>(ChannelCore core, ChannelReader<Message> inner, Codec codec) : ReaderEnd<T, Message>(core, inner)
{
    private readonly GeneratedCodec<T>? _typed = codec as GeneratedCodec<T>; // resolved once, not per item

    public override bool TryRead(out T item)
    {
        if (Inner.TryRead(out Message message))
        {
            item = Take(message);
            return true;
        }

        item = default!;
        return false;
    }

    public override bool TryPeek(out T item)
    {
        if (Inner.TryPeek(out Message message))
        {
            item = Decode(message);
            return true;
        }

        item = default!;
        return false;
    }

    protected override ValueTask<T> ReadBufferedAsync(CancellationToken cancellationToken)
    {
        ValueTask<Message> read = Inner.ReadAsync(cancellationToken);
        return read.IsCompletedSuccessfully ? new(Take(read.Result)) : ReadSlowAsync(read);
    }

    private async ValueTask<T> ReadSlowAsync(ValueTask<Message> read) => Take(await read.ConfigureAwait(false));

    private T Take(Message message)
    {
        ChannelTelemetry.Received(Core, message);
        return Decode(message);
    }

    private T Decode(Message message) => message.Decode(codec, _typed);
}
