using System.Buffers;
using System.Collections;
using System.Collections.Immutable;
using System.Reflection;
using MessagePack;

namespace Isolates.Wire;

/// <summary>
/// Arrays, lists, sets and immutable sequences: a MessagePack array of elements. The receiver first builds an
/// array of its own element type, then the collection type it declared (a <c>List&lt;T&gt;</c> for list
/// interfaces). Collections are always copied; <c>byte[]</c> travels as one binary block.
/// </summary>
internal sealed class SequenceCodec : Codec
{
    private readonly Type _elementType;
    private readonly Codec _element;
    private readonly Func<Array, object>? _build;

    // ImmutableArray<T> is a struct whose default holds no array and throws when enumerated; it crosses as nil.
    private readonly Func<object, bool>? _isDefault;
    private readonly object? _default;

    private SequenceCodec(Type type, Type elementType, Codec element, Func<Array, object>? build)
        : base(type)
    {
        _elementType = elementType;
        _element = element;
        _build = build;
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(ImmutableArray<>))
        {
            _isDefault = typeof(SequenceCodec).GetMethod(nameof(IsDefaultImmutableArray), BindingFlags.NonPublic | BindingFlags.Static)!
                .MakeGenericMethod(elementType).CreateDelegate<Func<object, bool>>();
            _default = Activator.CreateInstance(type); // boxed once; nothing can change a default ImmutableArray
        }
    }

    /// <summary>The codec for a sequence type, or null when <paramref name="type"/> is not one this codec knows.</summary>
    public static SequenceCodec? TryCreate(Type type, Func<Type, string, Codec> elementCodec)
    {
        if (type.IsSZArray)
        {
            Type elementType = type.GetElementType()!;
            return new SequenceCodec(type, elementType, elementCodec(elementType, "[]"), build: null);
        }

        if (!type.IsConstructedGenericType || type.GenericTypeArguments.Length != 1)
        {
            return null;
        }

        Type definition = type.GetGenericTypeDefinition();
        Type element = type.GenericTypeArguments[0];
        Func<Array, object>? build = null;
        if (definition == typeof(List<>) || definition == typeof(IList<>) || definition == typeof(IReadOnlyList<>) ||
            definition == typeof(ICollection<>) || definition == typeof(IReadOnlyCollection<>) || definition == typeof(IEnumerable<>))
        {
            build = FromConstructor(typeof(List<>).MakeGenericType(element), element);
        }
        else if (definition == typeof(HashSet<>) || definition == typeof(ISet<>) || definition == typeof(IReadOnlySet<>))
        {
            build = FromConstructor(typeof(HashSet<>).MakeGenericType(element), element);
        }
        else if (definition == typeof(ImmutableArray<>))
        {
            build = FromFactory(typeof(ImmutableArray), element);
        }
        else if (definition == typeof(ImmutableList<>) || definition == typeof(IImmutableList<>))
        {
            build = FromFactory(typeof(ImmutableList), element);
        }
        else if (definition == typeof(ImmutableHashSet<>) || definition == typeof(IImmutableSet<>))
        {
            build = FromFactory(typeof(ImmutableHashSet), element);
        }

        return build is null ? null : new SequenceCodec(type, element, elementCodec(element, "[]"), build);
    }

    public override void Write(ref MessagePackWriter writer, object? value, int depth)
    {
        CheckWriteDepth(depth, Type);
        switch (value)
        {
            case null:
                writer.WriteNil();
                return;
            case byte[] bytes when _build is null:
                writer.Write(bytes);
                return;
            case not null when _isDefault is not null && _isDefault(value):
                writer.WriteNil(); // default(ImmutableArray<T>): read back as default, distinct from an empty array
                return;
            case ICollection collection:
                int count;
                try
                {
                    count = collection.Count;
                }
                catch (InvalidOperationException) when (IsAnyDefaultImmutableArray(value))
                {
                    writer.WriteNil(); // a default ImmutableArray<T> declared as an interface: its closest form there is null
                    return;
                }

                writer.WriteArrayHeader(count);
                foreach (object? item in collection)
                {
                    _element.Write(ref writer, item, depth + 1);
                }

                return;
            case IEnumerable sequence:
                var items = new List<object?>();
                foreach (object? item in sequence)
                {
                    items.Add(item);
                }

                writer.WriteArrayHeader(items.Count);
                foreach (object? item in items)
                {
                    _element.Write(ref writer, item, depth + 1);
                }

                return;
            default:
                throw new NotShareableException(value.GetType(), string.Empty, $"{value.GetType()} was declared as {Type} but is not a sequence.");
        }
    }

    public override object? Read(ref MessagePackReader reader, int depth)
    {
        CheckReadDepth(depth);
        if (reader.TryReadNil())
        {
            return _default; // null, or default(ImmutableArray<T>)
        }

        Array array;
        if (_elementType == typeof(byte) && reader.NextMessagePackType == MessagePackType.Binary)
        {
            ReadOnlySequence<byte> sequence = reader.ReadBytes() ?? default;
            array = sequence.ToArray();
        }
        else
        {
            int length = CollectionHeader.ReadArrayLength(ref reader);
            array = Array.CreateInstance(_elementType, length);
            for (int i = 0; i < length; i++)
            {
                array.SetValue(_element.Read(ref reader, depth + 1), i);
            }
        }

        return _build is null ? array : _build(array);
    }

    /// <summary>Whether the value's own encoding is nil although it is a value: a default <c>ImmutableArray&lt;T&gt;</c>.</summary>
    public override bool IsNilValue(object value) => _isDefault is not null && _isDefault(value);

    private static bool IsDefaultImmutableArray<T>(object value) => ((ImmutableArray<T>)value).IsDefault;

    private static bool IsAnyDefaultImmutableArray(object value) =>
        value.GetType() is { IsGenericType: true } type && type.GetGenericTypeDefinition() == typeof(ImmutableArray<>) && value.Equals(Activator.CreateInstance(type));

    private static Func<Array, object> FromConstructor(Type concrete, Type element)
    {
        ConstructorInfo constructor = concrete.GetConstructor([typeof(IEnumerable<>).MakeGenericType(element)])!;
        return array => constructor.Invoke([array]);
    }

    private static Func<Array, object> FromFactory(Type factoryType, Type element)
    {
        MethodInfo createRange = factoryType.GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Single(m => m.Name == "CreateRange" && m.GetParameters() is [{ } p] && p.ParameterType.IsGenericType &&
                         p.ParameterType.GetGenericTypeDefinition() == typeof(IEnumerable<>))
            .MakeGenericMethod(element);
        return array => createRange.Invoke(null, [array])!;
    }
}
