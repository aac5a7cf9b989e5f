using System.Buffers;
using System.Buffers.Binary;
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
    /// From this length on, the exact UTF-8 size is counted first: MessagePack asks the buffer for the worst case
    /// (3 bytes a char), which for a large string would grow the buffer (and trip the payload limit) for nothing.
    /// </summary>
    private const int CountFirstLength = 64 * 1024;

    // Throws on invalid UTF-8: the runtime never writes it, so it can only come from a corrupted payload.
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static void Write(ref MessagePackWriter writer, string? value)
    {
        if (value is null)
        {
            writer.WriteNil();
            return;
        }

        // One vectorized scan; text without surrogates (nearly all) needs nothing else.
        int surrogate = value.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF');
        if (surrogate >= 0 && !IsWellFormed(value.AsSpan(surrogate)))
        {
            WriteUtf16(ref writer, value);
        }
        else if (value.Length < CountFirstLength)
        {
            writer.Write(value);
        }
        else
        {
            WriteLarge(ref writer, value);
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

    /// <summary>Whether <paramref name="text"/>, which starts at a surrogate, pairs every surrogate correctly.</summary>
    private static bool IsWellFormed(ReadOnlySpan<char> text)
    {
        while (true)
        {
            if (text.Length < 2 || !char.IsHighSurrogate(text[0]) || !char.IsLowSurrogate(text[1]))
            {
                return false;
            }

            text = text[2..];
            int next = text.IndexOfAnyInRange('\uD800', '\uDFFF');
            if (next < 0)
            {
                return true;
            }

            text = text[next..];
        }
    }

    private static void WriteLarge(ref MessagePackWriter writer, string value)
    {
        int byteCount = Encoding.UTF8.GetByteCount(value); // exact: the string is well-formed
        writer.WriteStringHeader(byteCount); // the same smallest header MessagePack's Write(string) picks
        Span<byte> destination = writer.GetSpan(byteCount);
        OperationStatus status = Utf8.FromUtf16(value, destination, out _, out int written, replaceInvalidSequences: false);
        System.Diagnostics.Debug.Assert(status == OperationStatus.Done && written == byteCount, "a well-formed string encodes to its counted size");
        writer.Advance(written);
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
