using System.ComponentModel;

namespace Isolates.CompilerServices;

/// <summary>
/// Registers a generated codec for a <c>[Shareable]</c> type; the Isolates source generator adds one per type to the
/// user's assembly. For generated code only. The runtime reads these attributes from each context's own copy of the
/// assembly, so every isolate uses its own copy of the codec; a type without one uses the reflection codec, which
/// produces the same bytes.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
public sealed class ShareableCodecAttribute : Attribute
{
    /// <summary>Registers <paramref name="codecType"/> as the codec of <paramref name="type"/>.</summary>
    /// <param name="type">The <c>[Shareable]</c> type.</param>
    /// <param name="codecType">A non-abstract class derived from <see cref="ShareableCodec{T}"/> of <paramref name="type"/>, with a parameterless constructor.</param>
    public ShareableCodecAttribute(Type type, Type codecType)
    {
        Type = type;
        CodecType = codecType;
    }

    /// <summary>The <c>[Shareable]</c> type.</summary>
    public Type Type { get; }

    /// <summary>The generated codec class.</summary>
    public Type CodecType { get; }
}
