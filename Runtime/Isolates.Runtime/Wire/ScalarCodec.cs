using System.Buffers;
using MessagePack;

namespace Isolates.Wire;

/// <summary>
/// Codecs for the immutable framework values: primitives, string, decimal, date and time types, Guid. Values of
/// these types are shared by every context, so calls pass them as they are; these codecs are used when such a
/// value sits inside an object that must be encoded.
/// </summary>
internal sealed class ScalarCodec : Codec
{
    private readonly Writer _write;
    private readonly Reader _read;

    private ScalarCodec(Type type, Writer write, Reader read)
        : base(type)
    {
        _write = write;
        _read = read;
    }

    private delegate void Writer(ref MessagePackWriter writer, object value);

    private delegate object Reader(ref MessagePackReader reader);

    public override bool PassAsIs => true;

    public override void Write(ref MessagePackWriter writer, object? value, int depth)
    {
        if (value is null)
        {
            writer.WriteNil();
            return;
        }

        _write(ref writer, value);
    }

    public override object? Read(ref MessagePackReader reader, int depth)
    {
        if (reader.TryReadNil())
        {
            return Type == typeof(string) ? null : throw new IsolateSerializationException($"Expected a {Type.Name} but the payload holds nil.");
        }

        return _read(ref reader);
    }

    /// <summary>The codec for a scalar type, or null when <paramref name="type"/> is not one.</summary>
    public static ScalarCodec? TryCreate(Type type) => Type.GetTypeCode(type) switch
    {
        TypeCode.Boolean => new(type, static (ref w, v) => w.Write((bool)v), static (ref r) => r.ReadBoolean()),
        TypeCode.Char => new(type, static (ref w, v) => w.Write((char)v), static (ref r) => r.ReadChar()),
        TypeCode.SByte => new(type, static (ref w, v) => w.Write((sbyte)v), static (ref r) => r.ReadSByte()),
        TypeCode.Byte => new(type, static (ref w, v) => w.Write((byte)v), static (ref r) => r.ReadByte()),
        TypeCode.Int16 => new(type, static (ref w, v) => w.Write((short)v), static (ref r) => r.ReadInt16()),
        TypeCode.UInt16 => new(type, static (ref w, v) => w.Write((ushort)v), static (ref r) => r.ReadUInt16()),
        TypeCode.Int32 => new(type, static (ref w, v) => w.Write((int)v), static (ref r) => r.ReadInt32()),
        TypeCode.UInt32 => new(type, static (ref w, v) => w.Write((uint)v), static (ref r) => r.ReadUInt32()),
        TypeCode.Int64 => new(type, static (ref w, v) => w.Write((long)v), static (ref r) => r.ReadInt64()),
        TypeCode.UInt64 => new(type, static (ref w, v) => w.Write((ulong)v), static (ref r) => r.ReadUInt64()),
        TypeCode.Single => new(type, static (ref w, v) => w.Write((float)v), static (ref r) => r.ReadSingle()),
        TypeCode.Double => new(type, static (ref w, v) => w.Write((double)v), static (ref r) => r.ReadDouble()),
        TypeCode.String => new(type, static (ref w, v) => WireString.Write(ref w, (string)v), static (ref r) => WireString.Read(ref r)!),
        TypeCode.Decimal => new(type, WriteDecimal, ReadDecimal),
        TypeCode.DateTime => new(type, static (ref w, v) => w.Write(((DateTime)v).ToBinary()), static (ref r) => DateTime.FromBinary(r.ReadInt64())),
        _ when type == typeof(TimeSpan) => new(type, static (ref w, v) => w.Write(((TimeSpan)v).Ticks), static (ref r) => new TimeSpan(r.ReadInt64())),
        _ when type == typeof(DateTimeOffset) => new(type, WriteDateTimeOffset, ReadDateTimeOffset),
        _ when type == typeof(Guid) => new(type, WriteGuid, ReadGuid),
        _ => null,
    };

    private static void WriteDecimal(ref MessagePackWriter writer, object value)
    {
        Span<int> bits = stackalloc int[4];
        decimal.GetBits((decimal)value, bits);
        writer.WriteArrayHeader(4);
        foreach (int part in bits)
        {
            writer.Write(part);
        }
    }

    private static object ReadDecimal(ref MessagePackReader reader)
    {
        if (reader.ReadArrayHeader() != 4)
        {
            throw new IsolateSerializationException("A decimal must be encoded as 4 integers.");
        }

        Span<int> bits = [reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32()];
        try
        {
            return new decimal(bits);
        }
        catch (ArgumentException ex)
        {
            throw new IsolateSerializationException("The payload holds an invalid decimal.", ex);
        }
    }

    private static void WriteDateTimeOffset(ref MessagePackWriter writer, object value)
    {
        var time = (DateTimeOffset)value;
        writer.WriteArrayHeader(2);
        writer.Write(time.Ticks);
        writer.Write((short)time.Offset.TotalMinutes);
    }

    private static object ReadDateTimeOffset(ref MessagePackReader reader)
    {
        if (reader.ReadArrayHeader() != 2)
        {
            throw new IsolateSerializationException("A DateTimeOffset must be encoded as [ticks, offset minutes].");
        }

        long ticks = reader.ReadInt64();
        short minutes = reader.ReadInt16();
        try
        {
            return new DateTimeOffset(ticks, TimeSpan.FromMinutes(minutes));
        }
        catch (ArgumentException ex)
        {
            throw new IsolateSerializationException("The payload holds an invalid DateTimeOffset.", ex);
        }
    }

    private static void WriteGuid(ref MessagePackWriter writer, object value)
    {
        byte[] bytes = ((Guid)value).ToByteArray();
        writer.Write(bytes);
    }

    private static object ReadGuid(ref MessagePackReader reader)
    {
        ReadOnlySequence<byte>? bytes = reader.ReadBytes();
        if (bytes is not { Length: 16 } sequence)
        {
            throw new IsolateSerializationException("A Guid must be encoded as 16 bytes.");
        }

        Span<byte> buffer = stackalloc byte[16];
        sequence.CopyTo(buffer);
        return new Guid(buffer);
    }
}
