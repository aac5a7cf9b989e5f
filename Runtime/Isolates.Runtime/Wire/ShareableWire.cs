using System.ComponentModel;
using System.Runtime.CompilerServices;
using Isolates.Wire;
using MessagePack;

namespace Isolates.CompilerServices;

/// <summary>
/// The shared helpers generated <see cref="ShareableCodec{T}"/> classes call for every member. For generated code
/// only. They live in the runtime (the shared context), where they are compiled once and tiered, and are never
/// inlined into the caller: code in an isolate's collectible context is compiled at full optimization in every
/// isolate, and MessagePack's reader and writer inline aggressively, so each call here keeps that per-isolate
/// compilation small. Scalars are written exactly as the runtime's reflection codec writes them.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class ShareableWire
{
    /// <summary>Writes a <see cref="Boolean"/> member.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="value">The member's value.</param>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void WriteBoolean(ref MessagePackWriter writer, bool value) => writer.Write(value);

    /// <summary>Reads a <see cref="Boolean"/> member.</summary>
    /// <param name="reader">The reader.</param>
    /// <returns>The member's value.</returns>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static bool ReadBoolean(ref MessagePackReader reader) => reader.ReadBoolean();

    /// <summary>Writes a <see cref="Char"/> member.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="value">The member's value.</param>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void WriteChar(ref MessagePackWriter writer, char value) => writer.Write(value);

    /// <summary>Reads a <see cref="Char"/> member.</summary>
    /// <param name="reader">The reader.</param>
    /// <returns>The member's value.</returns>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static char ReadChar(ref MessagePackReader reader) => reader.ReadChar();

    /// <summary>Writes a <see cref="SByte"/> member.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="value">The member's value.</param>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void WriteSByte(ref MessagePackWriter writer, sbyte value) => writer.Write(value);

    /// <summary>Reads a <see cref="SByte"/> member.</summary>
    /// <param name="reader">The reader.</param>
    /// <returns>The member's value.</returns>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static sbyte ReadSByte(ref MessagePackReader reader) => reader.ReadSByte();

    /// <summary>Writes a <see cref="Byte"/> member.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="value">The member's value.</param>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void WriteByte(ref MessagePackWriter writer, byte value) => writer.Write(value);

    /// <summary>Reads a <see cref="Byte"/> member.</summary>
    /// <param name="reader">The reader.</param>
    /// <returns>The member's value.</returns>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static byte ReadByte(ref MessagePackReader reader) => reader.ReadByte();

    /// <summary>Writes a <see cref="Int16"/> member.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="value">The member's value.</param>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void WriteInt16(ref MessagePackWriter writer, short value) => writer.Write(value);

    /// <summary>Reads a <see cref="Int16"/> member.</summary>
    /// <param name="reader">The reader.</param>
    /// <returns>The member's value.</returns>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static short ReadInt16(ref MessagePackReader reader) => reader.ReadInt16();

    /// <summary>Writes a <see cref="UInt16"/> member.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="value">The member's value.</param>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void WriteUInt16(ref MessagePackWriter writer, ushort value) => writer.Write(value);

    /// <summary>Reads a <see cref="UInt16"/> member.</summary>
    /// <param name="reader">The reader.</param>
    /// <returns>The member's value.</returns>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static ushort ReadUInt16(ref MessagePackReader reader) => reader.ReadUInt16();

    /// <summary>Writes a <see cref="Int32"/> member.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="value">The member's value.</param>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void WriteInt32(ref MessagePackWriter writer, int value) => writer.Write(value);

    /// <summary>Reads a <see cref="Int32"/> member.</summary>
    /// <param name="reader">The reader.</param>
    /// <returns>The member's value.</returns>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static int ReadInt32(ref MessagePackReader reader) => reader.ReadInt32();

    /// <summary>Writes a <see cref="UInt32"/> member.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="value">The member's value.</param>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void WriteUInt32(ref MessagePackWriter writer, uint value) => writer.Write(value);

    /// <summary>Reads a <see cref="UInt32"/> member.</summary>
    /// <param name="reader">The reader.</param>
    /// <returns>The member's value.</returns>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static uint ReadUInt32(ref MessagePackReader reader) => reader.ReadUInt32();

    /// <summary>Writes a <see cref="Int64"/> member.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="value">The member's value.</param>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void WriteInt64(ref MessagePackWriter writer, long value) => writer.Write(value);

    /// <summary>Reads a <see cref="Int64"/> member.</summary>
    /// <param name="reader">The reader.</param>
    /// <returns>The member's value.</returns>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static long ReadInt64(ref MessagePackReader reader) => reader.ReadInt64();

    /// <summary>Writes a <see cref="UInt64"/> member.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="value">The member's value.</param>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void WriteUInt64(ref MessagePackWriter writer, ulong value) => writer.Write(value);

    /// <summary>Reads a <see cref="UInt64"/> member.</summary>
    /// <param name="reader">The reader.</param>
    /// <returns>The member's value.</returns>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static ulong ReadUInt64(ref MessagePackReader reader) => reader.ReadUInt64();

    /// <summary>Writes a <see cref="Single"/> member.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="value">The member's value.</param>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void WriteSingle(ref MessagePackWriter writer, float value) => writer.Write(value);

    /// <summary>Reads a <see cref="Single"/> member.</summary>
    /// <param name="reader">The reader.</param>
    /// <returns>The member's value.</returns>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static float ReadSingle(ref MessagePackReader reader) => reader.ReadSingle();

    /// <summary>Writes a <see cref="Double"/> member.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="value">The member's value.</param>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void WriteDouble(ref MessagePackWriter writer, double value) => writer.Write(value);

    /// <summary>Reads a <see cref="Double"/> member.</summary>
    /// <param name="reader">The reader.</param>
    /// <returns>The member's value.</returns>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static double ReadDouble(ref MessagePackReader reader) => reader.ReadDouble();

    /// <summary>Writes a <see cref="string"/> member (nil for null), exactly: also one that is not well-formed UTF-16.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="value">The member's value.</param>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void WriteString(ref MessagePackWriter writer, string? value) => WireString.Write(ref writer, value);

    /// <summary>Reads a <see cref="string"/> member (null for nil).</summary>
    /// <param name="reader">The reader.</param>
    /// <returns>The member's value.</returns>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static string? ReadString(ref MessagePackReader reader) => WireString.Read(ref reader);

    /// <summary>Writes a <see cref="DateTime"/> member (as <see cref="DateTime.ToBinary"/>, like the reflection codec).</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="value">The member's value.</param>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void WriteDateTime(ref MessagePackWriter writer, DateTime value) => writer.Write(value.ToBinary());

    /// <summary>Reads a <see cref="DateTime"/> member.</summary>
    /// <param name="reader">The reader.</param>
    /// <returns>The member's value.</returns>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static DateTime ReadDateTime(ref MessagePackReader reader) => DateTime.FromBinary(reader.ReadInt64());

    /// <summary>Writes a <see cref="TimeSpan"/> member (as ticks, like the reflection codec).</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="value">The member's value.</param>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void WriteTimeSpan(ref MessagePackWriter writer, TimeSpan value) => writer.Write(value.Ticks);

    /// <summary>Reads a <see cref="TimeSpan"/> member.</summary>
    /// <param name="reader">The reader.</param>
    /// <returns>The member's value.</returns>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static TimeSpan ReadTimeSpan(ref MessagePackReader reader) => new(reader.ReadInt64());

    /// <summary>
    /// Writes a member of any other shareable type (enums, decimal, dates, collections, nested <c>[Shareable]</c>
    /// values, channel ends) with the runtime's codec for it; a nested generated codec is called without boxing.
    /// </summary>
    /// <typeparam name="TMember">The member's declared type.</typeparam>
    /// <param name="writer">The writer.</param>
    /// <param name="value">The member's value.</param>
    /// <param name="depth">The nesting depth the generated codec was given.</param>
    /// <param name="codec">A field of the generated codec, null at first, where the member's codec is kept after the first use.</param>
    public static void WriteValue<TMember>(ref MessagePackWriter writer, TMember value, int depth, ref object? codec)
    {
        Codec resolved = Resolve<TMember>(ref codec);
        if (resolved is GeneratedCodec<TMember> generated)
        {
            generated.WriteTyped(ref writer, value, depth);
        }
        else
        {
            resolved.Write(ref writer, value, depth);
        }
    }

    /// <summary>Reads a member of any other shareable type with the runtime's codec for it (see <see cref="WriteValue{TMember}"/>).</summary>
    /// <typeparam name="TMember">The member's declared type.</typeparam>
    /// <param name="reader">The reader.</param>
    /// <param name="depth">The nesting depth the generated codec was given.</param>
    /// <param name="codec">A field of the generated codec, null at first, where the member's codec is kept after the first use.</param>
    /// <returns>The member's value.</returns>
    public static TMember ReadValue<TMember>(ref MessagePackReader reader, int depth, ref object? codec)
    {
        Codec resolved = Resolve<TMember>(ref codec);
        return resolved is GeneratedCodec<TMember> generated ? generated.ReadTyped(ref reader, depth) : (TMember)resolved.Read(ref reader, depth)!;
    }

    // Looked up once per generated codec instance (which lives in its context's cache), not once per value.
    private static Codec Resolve<TMember>(ref object? codec)
    {
        if (codec is Codec cached && cached.Type == typeof(TMember))
        {
            return cached;
        }

        Codec resolved = CodecFactory.Get(typeof(TMember));
        codec = resolved; // racing threads store the same codec
        return resolved;
    }
}
