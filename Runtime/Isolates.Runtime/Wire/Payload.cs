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

    /// <summary>Encodes the values with their codecs, in order, into a new exact-size array.</summary>
    public static byte[] Encode(ReadOnlySpan<Codec> codecs, ReadOnlySpan<object?> values)
    {
        // Taken, not borrowed: a getter that itself encodes (re-entrancy) gets a buffer of its own.
        ArrayBufferWriter<byte> buffer = t_buffer ?? new ArrayBufferWriter<byte>(256);
        t_buffer = null;
        buffer.ResetWrittenCount();
        try
        {
            var writer = new MessagePackWriter(buffer);
            for (int i = 0; i < codecs.Length; i++)
            {
                codecs[i].Write(ref writer, values[i], depth: 0);
            }

            writer.Flush();
            return buffer.WrittenSpan.ToArray();
        }
        finally
        {
            if (buffer.Capacity <= 64 * 1024)
            {
                t_buffer = buffer; // keep small buffers for the next message; let large ones go
            }
        }
    }

    /// <summary>Encodes one value.</summary>
    public static byte[] Encode(Codec codec, object? value) => Encode([codec], [value]);

    /// <summary>Decodes values with the receiver's codecs into <paramref name="destination"/>; the payload must hold exactly that many.</summary>
    public static void Decode(ReadOnlyMemory<byte> payload, ReadOnlySpan<Codec> codecs, Span<object?> destination)
    {
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
    }

    /// <summary>Decodes one value.</summary>
    public static object? Decode(ReadOnlyMemory<byte> payload, Codec codec)
    {
        object?[] one = new object?[1];
        Decode(payload, [codec], one);
        return one[0];
    }
}
