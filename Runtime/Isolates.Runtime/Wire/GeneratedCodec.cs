using Isolates.CompilerServices;
using MessagePack;

namespace Isolates.Wire;

/// <summary>
/// Runs a codec the source generator wrote into the type's own assembly: the same array format as
/// <see cref="ObjectCodec"/> for <c>[Shareable]</c> types (members by position), but the members are read and the
/// constructor is called by compiled user-assembly code, so nothing is boxed, reflected over or compiled at run time.
/// </summary>
internal sealed class GeneratedCodec<T>(ShareableCodec<T> generated) : Codec(typeof(T))
{
    public override void Write(ref MessagePackWriter writer, object? value, int depth)
    {
        if (value is null)
        {
            CheckWriteDepth(depth, Type);
            writer.WriteNil();
            return;
        }

        if (value is not T typed)
        {
            throw new NotShareableException(value.GetType(), string.Empty, $"A {value.GetType()} was passed where {Type} is declared.");
        }

        WriteTyped(ref writer, typed, depth);
    }

    public void WriteTyped(ref MessagePackWriter writer, T value, int depth)
    {
        CheckWriteDepth(depth, Type);
        if (value is null)
        {
            writer.WriteNil();
            return;
        }

        if (!typeof(T).IsValueType && value.GetType() != typeof(T))
        {
            throw new NotShareableException(value.GetType(), string.Empty,
                $"A {value.GetType()} was passed where {Type} is declared. Only the declared type's members would cross, so the value would be cut short; declare the exact type.");
        }

        writer.WriteArrayHeader(generated.MemberCount);
        generated.WriteMembers(ref writer, value, depth + 1);
    }

    public override object? Read(ref MessagePackReader reader, int depth) => ReadTyped(ref reader, depth);

    public T ReadTyped(ref MessagePackReader reader, int depth)
    {
        CheckReadDepth(depth);
        if (reader.TryReadNil())
        {
            return typeof(T).IsValueType ? throw new IsolateSerializationException($"Expected a {Type} but the payload holds nil.") : default!;
        }

        // The count must equal the (small, fixed) member count, so no length check against the bytes left is needed.
        int count = reader.NextMessagePackType == MessagePackType.Array ? reader.ReadArrayHeader() : -1;
        if (count != generated.MemberCount)
        {
            throw new IsolateSerializationException(
                $"Expected {Type} as an array of {generated.MemberCount} members but the payload holds {(count < 0 ? reader.NextMessagePackType.ToString() : $"an array of {count}")}; it is corrupted or was written by a different version of {Type.Assembly.GetName().Name}.");
        }

        try
        {
            return generated.ReadMembers(ref reader, depth + 1);
        }
        catch (Exception ex) when (ex is not IsolateException)
        {
            throw new IsolateSerializationException($"Rebuilding a {Type} from the payload failed: {ex.GetType().Name}: {ex.Message}", ex);
        }
    }
}
