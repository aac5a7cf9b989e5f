using System.Reflection;
using Isolates.CompilerServices;

namespace Isolates.Wire;

/// <summary>
/// Finds the codec the source generator registered for a <c>[Shareable]</c> type in the type's own assembly, so each
/// context uses its own copy. Only reads attributes and creates an instance: nothing is emitted or compiled here.
/// </summary>
internal static class GeneratedCodecs
{
    /// <summary>The generated codec for <paramref name="type"/>, or null when its assembly has none (built without the generator).</summary>
    public static Codec? TryCreate(Type type)
    {
        foreach (ShareableCodecAttribute registration in type.Assembly.GetCustomAttributes<ShareableCodecAttribute>())
        {
            if (registration.Type != type)
            {
                continue;
            }

            return Activator.CreateInstance(registration.CodecType) is IGeneratedCodec generated && generated.Type == type
                ? generated.CreateCodec()
                : throw new NotShareableException(type, string.Empty,
                    $"{registration.CodecType} is registered as the codec of {type} but is not a ShareableCodec<{type.Name}>; it should only be written by the Isolates source generator.");
        }

        return null;
    }
}
