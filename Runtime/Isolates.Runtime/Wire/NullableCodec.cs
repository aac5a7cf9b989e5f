using System.Runtime.CompilerServices;
using MessagePack;

namespace Isolates.Wire;

/// <summary>
/// <c>T?</c> for a value type T: nil, or the value. A present value whose own encoding is nil (a default
/// <c>ImmutableArray&lt;T&gt;</c>) is written as <see cref="WireExt.PresentDefault"/>, so it does not arrive as null.
/// </summary>
internal sealed class NullableCodec(Type type, Codec inner) : Codec(type)
{
    public override bool PassAsIs => inner.PassAsIs;

    public override void Write(ref MessagePackWriter writer, object? value, int depth)
    {
        if (value is null)
        {
            writer.WriteNil();
        }
        else if (inner.IsNilValue(value))
        {
            writer.WriteExtensionFormatHeader(new ExtensionHeader(WireExt.PresentDefault, 0));
        }
        else
        {
            inner.Write(ref writer, value, depth);
        }
    }

    public override object? Read(ref MessagePackReader reader, int depth)
    {
        if (reader.TryReadNil())
        {
            return null;
        }

        if (reader.NextMessagePackType != MessagePackType.Extension)
        {
            return inner.Read(ref reader, depth);
        }

        // No value type's own encoding is an extension, so this can only be a present default, of a type that has one.
        ExtensionHeader header = reader.ReadExtensionFormatHeader();
        object present = RuntimeHelpers.GetUninitializedObject(inner.Type);
        return header is { TypeCode: WireExt.PresentDefault, Length: 0 } && inner.IsNilValue(present)
            ? present
            : throw new IsolateSerializationException($"Expected a {inner.Type} but the payload holds the extension type {header.TypeCode} of {header.Length} bytes; it is corrupted.");
    }
}
