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

    public override object? Read(ref MessagePackReader reader, int depth) =>
        _unsigned ? Enum.ToObject(Type, reader.ReadUInt64()) : Enum.ToObject(Type, reader.ReadInt64());
}
