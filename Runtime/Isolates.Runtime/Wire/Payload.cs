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
        // Taken, not borrowed: a getter that itself encodes (re-entrancy) gets a buffer of its own.
        ArrayBufferWriter<byte> buffer = t_buffer ?? new ArrayBufferWriter<byte>(256);
        t_buffer = null;
        buffer.ResetWrittenCount();
        List<object>? outerAttaching = t_attaching;
        bool outerEncoding = t_encoding;
        t_attaching = null;
        t_encoding = true;
        attachments = null;
        try
        {
            var writer = new MessagePackWriter(buffer);
            for (int i = 0; i < codecs.Length; i++)
            {
                codecs[i].Write(ref writer, values[i], depth: 0);
            }

            writer.Flush();
            attachments = t_attaching is { Count: > 0 } attached ? [.. attached] : null;
            return buffer.WrittenSpan.ToArray();
        }
        finally
        {
            t_attaching = outerAttaching;
            t_encoding = outerEncoding;
            if (buffer.Capacity <= 64 * 1024)
            {
                t_buffer = buffer; // keep small buffers for the next message; let large ones go
            }
        }
    }

    /// <summary>Encodes one value.</summary>
    public static byte[] Encode(Codec codec, object? value) => Encode([codec], [value]);

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
        catch (Exception ex) when (ex is MessagePackSerializationException or EndOfStreamException or OverflowException or InvalidCastException or ArgumentException or FormatException or InvalidOperationException)
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
}
