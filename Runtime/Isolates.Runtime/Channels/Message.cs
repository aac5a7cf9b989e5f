using System.Runtime.CompilerServices;
using Isolates.Diagnostics;
using Isolates.Wire;

namespace Isolates.Channels;

/// <summary>
/// One encoded item in a channel's buffer: its bytes, the shared objects (channel cores) it refers to and, when someone
/// traces, the writer's trace context. Payloads of up to <see cref="InlineCapacity"/> bytes (small records, a few
/// scalars) are stored inside the struct itself, which the channel's buffer holds by value, so sending them allocates
/// nothing; larger ones get an array of their own.
/// </summary>
internal readonly struct Message
{
    /// <summary>The largest payload stored inline; with the three references and the length the struct stays one cache line (64 bytes).</summary>
    public const int InlineCapacity = 32;

    private readonly byte[]? _bytes;
    private readonly object[]? _attachments;
    private readonly TraceParent? _trace;
    private readonly int _length;
    private readonly InlineBytes _inline;

    private Message(ReadOnlySpan<byte> encoded, object[]? attachments, TraceParent? trace)
    {
        _attachments = attachments;
        _trace = trace;
        _length = encoded.Length;
        if (encoded.Length <= InlineCapacity)
        {
            encoded.CopyTo(_inline);
        }
        else
        {
            _bytes = encoded.ToArray();
        }
    }

    /// <summary>The writer's trace context (docs/observability.md); null unless the Isolates activity source has a listener.</summary>
    public TraceParent? Trace => _trace;

    /// <summary>Encodes <paramref name="item"/> with the writer's codec (<paramref name="typed"/> when it is a generated one); throws <see cref="NotShareableException"/> in the writer.</summary>
    public static Message Encode<T>(Codec codec, GeneratedCodec<T>? typed, T item, TraceParent? trace)
    {
        ReadOnlySpan<byte> encoded = Payload.EncodeOne(codec, typed, item, out object[]? attachments);
        return new Message(encoded, attachments, trace);
    }

    /// <summary>Decodes the item as the reader's own <typeparamref name="T"/>.</summary>
    public T Decode<T>(Codec codec, GeneratedCodec<T>? typed) => _bytes is { } bytes
        ? Payload.DecodeOne(bytes, codec, typed, _attachments)
        : Payload.DecodeOne(((ReadOnlySpan<byte>)_inline)[.._length], codec, typed, _attachments);

    /// <summary>True when the item refers to shared objects (channel ends, shared buffers), which cannot leave the process.</summary>
    public bool HasAttachments => _attachments is not null;

    /// <summary>A message of bytes encoded elsewhere (another process, by the same codec), with no attachments.</summary>
    public static Message FromEncoded(ReadOnlySpan<byte> encoded) => new(encoded, null, null);

    /// <summary>Copies the encoded bytes into <paramref name="destination"/>, which holds at least <see cref="Length"/> bytes; returns how many.</summary>
    public int CopyEncoded(Span<byte> destination)
    {
        ReadOnlySpan<byte> encoded = _bytes is { } bytes ? bytes : ((ReadOnlySpan<byte>)_inline)[.._length];
        encoded.CopyTo(destination);
        return encoded.Length;
    }

    /// <summary>The number of encoded bytes.</summary>
    public int Length => _length;

    [InlineArray(InlineCapacity)]
    private struct InlineBytes
    {
        private byte _first;
    }
}
