using MessagePack;

namespace Isolates.Wire;

/// <summary>Enums cross as their underlying integer and are rebuilt as the receiver's enum type.</summary>
internal sealed class EnumCodec : Codec
{
    private readonly bool _unsigned;

    public EnumCodec(Type type)
        : base(type)
    {
        Type underlying = Enum.GetUnderlyingType(type);
        _unsigned = underlying == typeof(ulong) || underlying == typeof(uint) || underlying == typeof(ushort) || underlying == typeof(byte);
        PassAsIs = !type.IsCollectible && Loader.SharingPolicy.IsSharedEverywhere(type.Assembly);
    }

    public override bool PassAsIs { get; }

    public override void Write(ref MessagePackWriter writer, object? value, int depth)
    {
        if (value is null)
        {
            writer.WriteNil();
        }
        else if (_unsigned)
        {
            writer.Write(Convert.ToUInt64(value, System.Globalization.CultureInfo.InvariantCulture));
        }
        else
        {
            writer.Write(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    public override object? Read(ref MessagePackReader reader, int depth)
    {
        if (_unsigned)
        {
            ulong raw = reader.ReadUInt64();
            object value = Enum.ToObject(Type, raw);
            return Convert.ToUInt64(value, System.Globalization.CultureInfo.InvariantCulture) == raw ? value : throw OutOfRange(raw);
        }
        else
        {
            long raw = reader.ReadInt64();
            object value = Enum.ToObject(Type, raw);
            return Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture) == raw ? value : throw OutOfRange(raw);
        }
    }

    private IsolateSerializationException OutOfRange(object raw) =>
        new($"The payload holds {raw}, which does not fit the underlying type of {Type}.");
}
