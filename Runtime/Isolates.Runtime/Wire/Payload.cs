using System.Buffers;
using MessagePack;

namespace Isolates.Wire;

/// <summary>
/// Encodes values into one MessagePack byte block and decodes them back, turning every decoder failure into an
/// <see cref="IsolateSerializationException"/>. The byte block is what crosses between contexts: it references
/// nothing in either.
/// </summary>
internal static class Payload
{
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static List<object>? t_attaching;

    [ThreadStatic]
    private static object[]? t_attached;

    [ThreadStatic]
    private static bool t_encoding;

    [ThreadStatic]
    private static byte[]? t_decodeBuffer;

    /// <summary>
    /// Called by a codec while encoding: adds a runtime-owned shared object (a channel's core) that travels beside
    /// the bytes by reference, and returns its index. Only objects of the runtime itself, never user objects.
    /// </summary>
    public static int Attach(object shared)
    {
        if (!t_encoding)
        {
            throw new InvalidOperationException("Attach is only valid while encoding.");
        }

        List<object> attaching = t_attaching ??= []; // created only for the rare payload that has attachments
        attaching.Add(shared);
        return attaching.Count - 1;
    }

    /// <summary>Called by a codec while decoding: the attachment the bytes refer to by index.</summary>
    public static object Attached(int index)
    {
        object[]? attached = t_attached;
        return attached is not null && (uint)index < (uint)attached.Length
            ? attached[index]
            : throw new IsolateSerializationException($"The payload refers to attachment {index}, which was not sent with it.");
    }

    /// <summary>Encodes the values with their codecs, in order, into a new exact-size array.</summary>
    public static byte[] Encode(ReadOnlySpan<Codec> codecs, ReadOnlySpan<object?> values)
    {
        byte[] bytes = Encode(codecs, values, out object[]? attachments);
        return attachments is null
            ? bytes
            : throw new NotShareableException(null, string.Empty, "Channel ends and shared buffers can cross only as call arguments, call results and channel messages.");
    }

    /// <summary>Encodes the values; <paramref name="attachments"/> receives the shared objects that travel by reference.</summary>
    public static byte[] Encode(ReadOnlySpan<Codec> codecs, ReadOnlySpan<object?> values, out object[]? attachments)
    {
        EncodeScope scope = EncodeScope.Begin();
        try
        {
            var writer = new MessagePackWriter(scope.Buffer);
            for (int i = 0; i < codecs.Length; i++)
            {
                codecs[i].Write(ref writer, values[i], depth: 0);
            }

            writer.Flush();
            attachments = scope.Attachments();
            return scope.Buffer.WrittenSpan.ToArray();
        }
        finally
        {
            scope.End();
        }
    }

    /// <summary>Encodes one value.</summary>
    public static byte[] Encode(Codec codec, object? value) => Encode([codec], [value]);

    /// <summary>
    /// Encodes one value of <typeparamref name="T"/> (without boxing when the codec is a generated one) into this
    /// thread's buffer and returns the written bytes, valid only until the next encode on this thread: the caller
    /// copies them at once (a channel stores small messages inline, without allocating).
    /// </summary>
    public static ReadOnlySpan<byte> EncodeOne<T>(Codec codec, T value, out object[]? attachments)
    {
        EncodeScope scope = EncodeScope.Begin();
        try
        {
            var writer = new MessagePackWriter(scope.Buffer);
            if (codec is GeneratedCodec<T> generated)
            {
                generated.WriteTyped(ref writer, value, depth: 0);
            }
            else
            {
                codec.Write(ref writer, value, depth: 0);
            }

            writer.Flush();
            attachments = scope.Attachments();
            return scope.Buffer.WrittenSpan; // stays valid until the next encode on this thread
        }
        finally
        {
            scope.End();
        }
    }

    /// <summary>Decodes one value of <typeparamref name="T"/> from bytes held outside an array (copied to this thread's scratch array first).</summary>
    public static T DecodeOne<T>(ReadOnlySpan<byte> payload, Codec codec, object[]? attachments)
    {
        // Taken, not borrowed, like the encode buffer: a constructor that itself decodes gets an array of its own.
        byte[] scratch = t_decodeBuffer is { } cached && cached.Length >= payload.Length ? cached : new byte[Math.Max(64, payload.Length)];
        t_decodeBuffer = null;
        try
        {
            payload.CopyTo(scratch);
            return DecodeOne<T>(scratch.AsMemory(0, payload.Length), codec, attachments);
        }
        finally
        {
            t_decodeBuffer = scratch;
        }
    }

    /// <summary>Decodes one value of <typeparamref name="T"/> (without boxing when the codec is a generated one); the payload must hold exactly it.</summary>
    public static T DecodeOne<T>(ReadOnlyMemory<byte> payload, Codec codec, object[]? attachments)
    {
        object[]? outerAttached = t_attached;
        t_attached = attachments;
        try
        {
            var reader = new MessagePackReader(payload);
            T value = codec is GeneratedCodec<T> generated ? generated.ReadTyped(ref reader, depth: 0) : (T)codec.Read(ref reader, depth: 0)!;
            if (!reader.End)
            {
                throw new IsolateSerializationException($"The payload has {payload.Length - reader.Consumed} bytes left over after its last value; it is corrupted.");
            }

            return value;
        }
        catch (Exception ex) when (IsDecoderFailure(ex))
        {
            throw new IsolateSerializationException($"The payload could not be decoded: {ex.Message}", ex);
        }
        finally
        {
            t_attached = outerAttached;
        }
    }

    /// <summary>Decodes values with the receiver's codecs into <paramref name="destination"/>; the payload must hold exactly that many.</summary>
    public static void Decode(ReadOnlyMemory<byte> payload, ReadOnlySpan<Codec> codecs, Span<object?> destination, object[]? attachments = null)
    {
        object[]? outerAttached = t_attached;
        t_attached = attachments;
        try
        {
            var reader = new MessagePackReader(payload);
            for (int i = 0; i < codecs.Length; i++)
            {
                destination[i] = codecs[i].Read(ref reader, depth: 0);
            }

            if (!reader.End)
            {
                throw new IsolateSerializationException($"The payload has {payload.Length - reader.Consumed} bytes left over after its last value; it is corrupted.");
            }
        }
        catch (Exception ex) when (IsDecoderFailure(ex))
        {
            throw new IsolateSerializationException($"The payload could not be decoded: {ex.Message}", ex);
        }
        finally
        {
            t_attached = outerAttached;
        }
    }

    /// <summary>Decodes one value.</summary>
    public static object? Decode(ReadOnlyMemory<byte> payload, Codec codec, object[]? attachments = null)
    {
        object? result = null;
        Decode(payload, new ReadOnlySpan<Codec>(ref codec), new Span<object?>(ref result), attachments);
        return result;
    }

    /// <summary>The exceptions MessagePack's reader and the codecs throw for bytes that are not a valid payload.</summary>
    private static bool IsDecoderFailure(Exception ex) =>
        ex is MessagePackSerializationException or EndOfStreamException or OverflowException or InvalidCastException or ArgumentException or FormatException or InvalidOperationException;

    /// <summary>
    /// One encode on this thread: takes the thread's buffer (taken, not borrowed: a getter that itself encodes gets a
    /// buffer of its own) and collects attachments, restoring the outer encode's state at the end.
    /// </summary>
    private readonly ref struct EncodeScope
    {
        private readonly List<object>? _outerAttaching;
        private readonly bool _outerEncoding;

        private EncodeScope(ArrayBufferWriter<byte> buffer, List<object>? outerAttaching, bool outerEncoding)
        {
            Buffer = buffer;
            _outerAttaching = outerAttaching;
            _outerEncoding = outerEncoding;
        }

        public ArrayBufferWriter<byte> Buffer { get; }

        public static EncodeScope Begin()
        {
            ArrayBufferWriter<byte> buffer = t_buffer ?? new ArrayBufferWriter<byte>(256);
            t_buffer = null;
            buffer.ResetWrittenCount();
            var scope = new EncodeScope(buffer, t_attaching, t_encoding);
            t_attaching = null;
            t_encoding = true;
            return scope;
        }

        public object[]? Attachments() => t_attaching is { Count: > 0 } attached ? [.. attached] : null;

        public void End()
        {
            t_attaching = _outerAttaching;
            t_encoding = _outerEncoding;
            if (Buffer.Capacity <= 64 * 1024)
            {
                t_buffer = Buffer; // keep small buffers for the next message; let large ones go
            }
        }
    }
}
