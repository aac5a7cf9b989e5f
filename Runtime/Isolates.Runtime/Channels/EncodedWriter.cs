using System.Threading.Channels;
using Isolates.Diagnostics;
using Isolates.Wire;

namespace Isolates.Channels;

/// <summary>
/// The writing end of an encoded channel in one context: each item is encoded on the writer's thread, so a value
/// that is not shareable fails right here, in the writer, never in the isolate that would read it.
/// </summary>
internal sealed class EncodedWriter<T>(ChannelCore core, ChannelWriter<Message> inner, Codec codec) : WriterEnd<T, Message>(core, inner)
{
    private readonly GeneratedCodec<T>? _typed = codec as GeneratedCodec<T>; // resolved once, not per item

    public override bool TryWrite(T item) => ChannelTelemetry.Sent(Core, Inner.TryWrite(Encode(item)));

    public override ValueTask WriteAsync(T item, CancellationToken cancellationToken = default) =>
        cancellationToken.IsCancellationRequested ? ValueTask.FromCanceled(cancellationToken) : ChannelErrors.Guard(ChannelTelemetry.Sent(Core, WriteBufferedAsync(Encode(item), cancellationToken)));

    private Message Encode(T item) => Message.Encode(codec, _typed, item, Tracing.CaptureForSend(Core));
}
