using MessagePack;

namespace Isolates.Wire;

/// <summary>
/// Encodes values of one type to MessagePack and decodes them back, built by reflection in shared code so that
/// no serialization code is compiled per isolate. The sender encodes with a codec for its own type; the receiver
/// decodes with a codec for its own type of the same name, which is how a value is rebuilt as the receiver's type.
/// </summary>
internal abstract class Codec
{
    /// <summary>Objects nested deeper than this are refused on both sides (cycles, hostile payloads).</summary>
    public const int MaxDepth = 128;

    protected Codec(Type type) => Type = type;

    /// <summary>The type this codec encodes and decodes, in the context that owns it.</summary>
    public Type Type { get; }

    /// <summary>Whether a value of this type can be handed over as it is, without encoding (immutable and shared).</summary>
    public virtual bool PassAsIs => false;

    public abstract void Write(ref MessagePackWriter writer, object? value, int depth);

    /// <summary>
    /// Whether <paramref name="value"/>, a value of a struct type, is written as nil (a default
    /// <c>ImmutableArray&lt;T&gt;</c>), so that a <c>T?</c> holding it must say it is present.
    /// </summary>
    public virtual bool IsNilValue(object value) => false;

    public abstract object? Read(ref MessagePackReader reader, int depth);

    protected static void CheckWriteDepth(int depth, Type type)
    {
        if (depth > MaxDepth)
        {
            throw new NotShareableException(type, string.Empty, $"A value of {type} is nested more than {MaxDepth} levels deep; it probably refers to itself (a cycle). Shareable values must be trees.");
        }
    }

    protected static void CheckReadDepth(int depth)
    {
        if (depth > MaxDepth)
        {
            throw new IsolateSerializationException($"The payload nests more than {MaxDepth} levels deep; it is corrupted or hostile.");
        }
    }
}
