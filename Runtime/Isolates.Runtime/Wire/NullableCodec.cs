using MessagePack;

namespace Isolates.Wire;

/// <summary><c>T?</c> for a value type T: nil, or the value.</summary>
internal sealed class NullableCodec(Type type, Codec inner) : Codec(type)
{
    public override bool PassAsIs => inner.PassAsIs;

    public override void Write(ref MessagePackWriter writer, object? value, int depth)
    {
        if (value is null)
        {
            writer.WriteNil();
        }
        else
        {
            inner.Write(ref writer, value, depth);
        }
    }

    public override object? Read(ref MessagePackReader reader, int depth) =>
        reader.TryReadNil() ? null : inner.Read(ref reader, depth);
}
