using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Unicode;
using MessagePack;

namespace Isolates.Wire;

/// <summary>
/// Strings on the wire, exactly. A well-formed string is a MessagePack str (UTF-8), byte for byte what
/// MessagePack-CSharp writes; a string with a lone surrogate, which UTF-8 cannot hold (the encoder would put U+FFFD
/// in its place), travels as its UTF-16 code units (<see cref="WireExt.Utf16String"/>). Every codec reads and
/// writes strings here, so a string arrives unchanged wherever it sits.
/// </summary>
internal static class WireString
{
    /// <summary>
    /// From this length on, the buffer is not asked for the worst case (3 bytes a char), which for a large string
    /// would grow it (and trip the payload limit) for nothing. At this length the str header is always the 5-byte str32.
    /// </summary>
    private const int LargeLength = 64 * 1024;

    // Throw on a lone surrogate or invalid UTF-8 instead of replacing it: the first tells the large-string path to
    // send code units, the second can only come from a corrupted payload (the runtime never writes invalid UTF-8).
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static void Write(ref MessagePackWriter writer, string? value)
    {
        if (value is null)
        {
            writer.WriteNil();
        }
        else if (value.Length < LargeLength)
        {
            WriteSmall(ref writer, value);
        }
        else
        {
            WriteLarge(ref writer, value);
        }
    }

    /// <summary>
    /// One pass, like MessagePack's own <c>Write(string)</c>: the transcoder writes after room for the header the
    /// char count suggests and reports a lone surrogate instead of replacing it, so well-formed text pays nothing for
    /// the check; the bytes move when the actual header differs.
    /// </summary>
    private static void WriteSmall(ref MessagePackWriter writer, string value)
    {
        int reserved = HeaderSize(value.Length); // exact for ASCII, the common case
        Span<byte> span = writer.GetSpan(5 + (value.Length * 3)); // a char is at most 3 bytes of UTF-8 (a pair, 2 chars, is 4)
        if (Utf8.FromUtf16(value, span[reserved..], out _, out int written, replaceInvalidSequences: false) != OperationStatus.Done)
        {
            WriteUtf16(ref writer, value); // nothing was advanced: the attempt is simply overwritten
            return;
        }

        int header = HeaderSize(written);
        if (header != reserved)
        {
            span.Slice(reserved, written).CopyTo(span[header..]);
        }

        WriteHeader(span, written, header);
        writer.Advance(header + written);
    }

    /// <summary>
    /// Optimistic: room for at least one byte a char first (ASCII, most large text, in one pass); only when the room
    /// is not enough is the rest counted exactly, so the buffer grows to the exact size and the limit check is exact.
    /// </summary>
    private static void WriteLarge(ref MessagePackWriter writer, string value)
    {
        Span<byte> first = writer.GetSpan(5 + value.Length);
        OperationStatus status = Utf8.FromUtf16(value, first[5..], out int read, out int written, replaceInvalidSequences: false); // all the room there is
        if (status == OperationStatus.InvalidData)
        {
            WriteUtf16(ref writer, value);
            return;
        }

        if (status == OperationStatus.Done)
        {
            WriteHeader(first, written, 5);
            writer.Advance(5 + written);
            return;
        }

        // DestinationTooSmall: stopped between two scalars, so the rest starts at a whole one.
        long total;
        try
        {
            total = written + CountUtf8(value.AsSpan(read));
        }
        catch (EncoderFallbackException)
        {
            WriteUtf16(ref writer, value); // a lone surrogate further on (rare here, so the exception is affordable)
            return;
        }

        if (total > Payload.MaxBytes)
        {
            throw new IsolateSerializationException(string.Create(
                CultureInfo.InvariantCulture,
                $"The value is too large to cross: a string of {value.Length:N0} chars is {total:N0} bytes of UTF-8, over the limit of {Payload.MaxBytes:N0} bytes for one payload. Send large data in parts (through a channel) or as a SharedBuffer."));
        }

        // Asking for more may move the write position to a new array; the bytes written so far are still in the old one.
        Span<byte> whole = writer.GetSpan(5 + (int)total);
        if (!Unsafe.AreSame(ref MemoryMarshal.GetReference(first), ref MemoryMarshal.GetReference(whole)))
        {
            first.Slice(5, written).CopyTo(whole[5..]);
        }

        status = Utf8.FromUtf16(value.AsSpan(read), whole[(5 + written)..], out _, out int more, replaceInvalidSequences: false);
        Debug.Assert(status == OperationStatus.Done && written + more == total, "a well-formed rest encodes to its counted size");
        WriteHeader(whole, (int)total, 5);
        writer.Advance(5 + (int)total);
    }

    /// <summary>The exact UTF-8 size, in pieces so that a string of up to 2^30 chars of 3 bytes cannot overflow an int.</summary>
    private static long CountUtf8(ReadOnlySpan<char> text)
    {
        const int Piece = 256 * 1024 * 1024;
        long count = 0;
        while (text.Length > Piece)
        {
            int cut = char.IsHighSurrogate(text[Piece - 1]) ? Piece - 1 : Piece; // never split a pair
            count += StrictUtf8.GetByteCount(text[..cut]);
            text = text[cut..];
        }

        return count + StrictUtf8.GetByteCount(text);
    }

    /// <summary>The smallest str header MessagePack-CSharp writes for <paramref name="byteCount"/> bytes (fixstr, str8, str16, str32).</summary>
    private static int HeaderSize(int byteCount) => byteCount <= 31 ? 1 : byteCount <= byte.MaxValue ? 2 : byteCount <= ushort.MaxValue ? 3 : 5;

    private static void WriteHeader(Span<byte> span, int byteCount, int size)
    {
        switch (size)
        {
            case 1:
                span[0] = (byte)(MessagePackCode.MinFixStr | byteCount);
                break;
            case 2:
                span[0] = MessagePackCode.Str8;
                span[1] = (byte)byteCount;
                break;
            case 3:
                span[0] = MessagePackCode.Str16;
                BinaryPrimitives.WriteUInt16BigEndian(span[1..], (ushort)byteCount);
                break;
            default:
                span[0] = MessagePackCode.Str32;
                BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)byteCount);
                break;
        }
    }

    public static string? Read(ref MessagePackReader reader)
    {
        if (reader.TryReadNil())
        {
            return null;
        }

        if (reader.NextMessagePackType == MessagePackType.Extension)
        {
            return ReadUtf16(ref reader);
        }

        // Payloads are one contiguous block, so the span form always applies; the sequence form is for completeness.
        return reader.TryReadStringSpan(out ReadOnlySpan<byte> bytes)
            ? StrictUtf8.GetString(bytes)
            : StrictUtf8.GetString(reader.ReadStringSequence() ?? default);
    }

    private static void WriteUtf16(ref MessagePackWriter writer, string value)
    {
        int byteCount = value.Length * 2; // cannot overflow: a string holds at most 2^30 chars
        writer.WriteExtensionFormatHeader(new ExtensionHeader(WireExt.Utf16String, (uint)byteCount));
        Span<byte> destination = writer.GetSpan(byteCount)[..byteCount];
        if (BitConverter.IsLittleEndian)
        {
            MemoryMarshal.AsBytes(value.AsSpan()).CopyTo(destination);
        }
        else
        {
            BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<char, ushort>(value.AsSpan()), MemoryMarshal.Cast<byte, ushort>(destination));
        }

        writer.Advance(byteCount);
    }

    private static string ReadUtf16(ref MessagePackReader reader)
    {
        ExtensionHeader header = reader.ReadExtensionFormatHeader();
        if (header.TypeCode != WireExt.Utf16String)
        {
            throw new IsolateSerializationException($"Expected a string but the payload holds the extension type {header.TypeCode}; it is corrupted.");
        }

        long remaining = reader.Sequence.Length - reader.Consumed;
        if (header.Length % 2 != 0 || header.Length > remaining)
        {
            throw new IsolateSerializationException($"A UTF-16 string of {header.Length} bytes is odd-sized or longer than the {remaining} bytes left; the payload is corrupted.");
        }

        ReadOnlySequence<byte> bytes = reader.ReadRaw(header.Length);
        return string.Create((int)(header.Length / 2), bytes, static (chars, source) =>
        {
            Span<byte> destination = MemoryMarshal.AsBytes(chars);
            source.CopyTo(destination);
            if (!BitConverter.IsLittleEndian)
            {
                Span<ushort> units = MemoryMarshal.Cast<char, ushort>(chars);
                BinaryPrimitives.ReverseEndianness(units, units);
            }
        });
    }
}
