using System.Threading.Channels;
using Isolates.Diagnostics;
using Isolates.Wire;

namespace Isolates.Channels;

/// <summary>
/// The writing end of an encoded channel in one context: each item is encoded on the writer's thread, so a value
/// that is not shareable fails right here, in the writer, never in the isolate that would read it.
/// </summary>
internal sealed class EncodedWriter<T>(ChannelCore core, ChannelWriter<Message> inner, Codec codec) : ChannelWriter<T>, IChannelEnd
{
    private readonly GeneratedCodec<T>? _typed = codec as GeneratedCodec<T>; // resolved once, not per item

    public ChannelCore Core => core;

    public bool IsWriter => true;

    public override bool TryComplete(Exception? error = null) => inner.TryComplete(ChannelCore.Transfer(error));

    public override bool TryWrite(T item) => ChannelTelemetry.Sent(core, inner.TryWrite(Encode(item)));

    public override ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken = default) => inner.WaitToWriteAsync(NeverCancelled.Or(cancellationToken));

    public override ValueTask WriteAsync(T item, CancellationToken cancellationToken = default) =>
        cancellationToken.IsCancellationRequested ? ValueTask.FromCanceled(cancellationToken) : ChannelTelemetry.Sent(core, inner.WriteAsync(Encode(item), NeverCancelled.Or(cancellationToken)));

    private Message Encode(T item) => Message.Encode(codec, _typed, item, Tracing.CaptureForSend(core.Id));
}
