using System.Reflection;
using Isolates.Loader;
using MessagePack;

namespace Isolates.Wire;

/// <summary>
/// Builds and caches the codec for a type, and is the one place that decides what is shareable: a type without a
/// codec is not, and the <see cref="NotShareableException"/> says which member made it so.
/// </summary>
internal static class CodecFactory
{
    /// <summary>The codec for <paramref name="type"/>; throws <see cref="NotShareableException"/> when it has none.</summary>
    public static Codec Get(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        if (ContextCache.For(type).Codecs.TryGetValue(type, out Codec? cached))
        {
            return cached;
        }

        var building = new Dictionary<Type, Codec>();
        Codec codec = Build(type, path: null, building);

        // Publish only complete codecs; a concurrent builder may have won, and either result is equivalent.
        foreach ((Type builtType, Codec built) in building)
        {
            ContextCache.For(builtType).Codecs.TryAdd(builtType, built);
        }

        return ContextCache.For(type).Codecs.GetOrAdd(type, codec);
    }

    /// <summary>Whether <paramref name="type"/> is shareable, without throwing.</summary>
    public static bool IsShareable(Type type, out NotShareableException? reason)
    {
        try
        {
            _ = Get(type);
            reason = null;
            return true;
        }
        catch (NotShareableException ex)
        {
            reason = ex;
            return false;
        }
    }

    private static Codec Build(Type type, string? path, Dictionary<Type, Codec> building)
    {
        if (ContextCache.For(type).Codecs.TryGetValue(type, out Codec? cached) || building.TryGetValue(type, out cached))
        {
            return cached;
        }

        // The member path names the top-level type and each member down to this one: Order.Lines[].Stream.
        Codec Child(Type childType, string segment) =>
            Build(childType, (path ?? type.Name) + (segment.StartsWith('[') ? segment : "." + segment), building);

        // Enums first: Type.GetTypeCode reports an enum as its underlying integer type.
        Codec? codec = type.IsEnum ? new EnumCodec(type) : ScalarCodec.TryCreate(type);

        if (codec is null && Nullable.GetUnderlyingType(type) is { } underlying)
        {
            codec = new NullableCodec(type, Build(underlying, path, building));
        }

        codec ??= SequenceCodec.TryCreate(type, Child) ?? (Codec?)DictionaryCodec.TryCreate(type, Child) ?? ChannelEndCodec.TryCreate(type, Child)
            ?? (Codec?)ProxyCodec.TryCreate(type) ?? (Codec?)BytesCodec.TryCreate(type) ?? (type == typeof(SharedBuffer) ? new SharedBufferCodec() : null);
        MessagePackObjectAttribute? attribute = codec is null ? type.GetCustomAttribute<MessagePackObjectAttribute>(inherit: false) : null;
        bool shareable = codec is null && attribute is null && type.IsDefined(typeof(ShareableAttribute), inherit: false);
        if (shareable && GeneratedCodecs.TryCreate(type) is { } generated)
        {
            // The analyzer that runs with the generator has checked the type and its members at build time.
            building[type] = generated;
            return generated;
        }

        if (attribute is not null || shareable)
        {
            var objectCodec = new ObjectCodec(type);
            building[type] = objectCodec; // registered first, so recursive types find it
            try
            {
                if (attribute is not null)
                {
                    objectCodec.Initialize(attribute, Child);
                }
                else
                {
                    objectCodec.InitializeShareable(Child);
                }
            }
            catch
            {
                building.Remove(type);
                throw;
            }

            return objectCodec;
        }

        if (codec is null)
        {
            string where = path is null ? string.Empty : path + ": ";
            throw new NotShareableException(type, path ?? string.Empty, $"{where}{type} is not shareable: {Explain(type)}");
        }

        building[type] = codec;
        return codec;
    }

    private static string Explain(Type type)
    {
        if (typeof(Delegate).IsAssignableFrom(type))
        {
            return "delegates carry code and captured state. Pass a static method as the call's function, and data as arguments.";
        }

        if (typeof(Task).IsAssignableFrom(type) || type.Name.StartsWith("ValueTask", StringComparison.Ordinal))
        {
            return "a task is not a value. Await it inside the isolate and return its result.";
        }

        // Before the abstract-type advice: Stream is abstract, and "declare the concrete type" led to MemoryStream,
        // which is refused too (issue 13). Every type advised here is shareable (NotShareableTests checks it).
        if (typeof(IDisposable).IsAssignableFrom(type) || typeof(IAsyncDisposable).IsAssignableFrom(type) || typeof(MarshalByRefObject).IsAssignableFrom(type))
        {
            return "it holds a resource (a stream, handle, connection or lock) that belongs to one isolate. Pass the data it produces instead "
                + "(for bytes: byte[], ReadOnlyMemory<byte> or a SharedBuffer), or leave the member out with [IgnoreMember].";
        }

        if (type == typeof(object) || type.IsInterface || type.IsAbstract)
        {
            return "it is an abstract, interface or object type, and only a concrete type can be rebuilt on the other side. Declare the concrete shareable type.";
        }

        if (type.IsPointer || type.IsByRef || type.IsByRefLike)
        {
            return "pointers, by-ref and ref struct values cannot leave the stack they live on.";
        }

        if (type.IsArray)
        {
            return "only single-dimensional arrays are shareable.";
        }

        return "mark it [Shareable] (an immutable record of shareable members) or [MessagePackObject] with a [Key] on each member, or pass one of the shareable types listed in docs/shareable.md.";
    }
}
