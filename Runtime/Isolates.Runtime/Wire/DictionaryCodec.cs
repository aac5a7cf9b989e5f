using System.Collections;
using System.Collections.Immutable;
using System.Reflection;
using MessagePack;

namespace Isolates.Wire;

/// <summary>
/// Dictionaries of shareable keys and values: a MessagePack map. The receiver builds a
/// <c>Dictionary&lt;K,V&gt;</c> of its own types (or the immutable dictionary it declared).
/// </summary>
internal sealed class DictionaryCodec : Codec
{
    private readonly Codec _key;
    private readonly Codec _value;
    private readonly Type _concrete;
    private readonly MethodInfo? _toImmutable;

    private DictionaryCodec(Type type, Codec key, Codec value, Type concrete, MethodInfo? toImmutable)
        : base(type)
    {
        _key = key;
        _value = value;
        _concrete = concrete;
        _toImmutable = toImmutable;
    }

    public static DictionaryCodec? TryCreate(Type type, Func<Type, string, Codec> codec)
    {
        if (!type.IsConstructedGenericType || type.GenericTypeArguments.Length != 2)
        {
            return null;
        }

        Type definition = type.GetGenericTypeDefinition();
        Type[] arguments = type.GenericTypeArguments;
        Type concrete = typeof(Dictionary<,>).MakeGenericType(arguments);
        MethodInfo? toImmutable = null;
        if (definition == typeof(ImmutableDictionary<,>) || definition == typeof(IImmutableDictionary<,>))
        {
            toImmutable = typeof(ImmutableDictionary).GetMethods(BindingFlags.Public | BindingFlags.Static)
                .Single(m => m.Name == nameof(ImmutableDictionary.ToImmutableDictionary) && m.GetParameters().Length == 1 &&
                             m.GetGenericArguments().Length == 2)
                .MakeGenericMethod(arguments);
        }
        else if (definition != typeof(Dictionary<,>) && definition != typeof(IDictionary<,>) && definition != typeof(IReadOnlyDictionary<,>))
        {
            return null;
        }

        return new DictionaryCodec(type, codec(arguments[0], "Keys"), codec(arguments[1], "Values"), concrete, toImmutable);
    }

    public override void Write(ref MessagePackWriter writer, object? value, int depth)
    {
        CheckWriteDepth(depth, Type);
        if (value is null)
        {
            writer.WriteNil();
            return;
        }

        if (value is not IDictionary dictionary)
        {
            throw new NotShareableException(value.GetType(), string.Empty, $"{value.GetType()} was declared as {Type} but does not implement IDictionary; pass a Dictionary<K,V> or an ImmutableDictionary<K,V>.");
        }

        writer.WriteMapHeader(dictionary.Count);
        IDictionaryEnumerator entries = dictionary.GetEnumerator();
        while (entries.MoveNext())
        {
            _key.Write(ref writer, entries.Key, depth + 1);
            _value.Write(ref writer, entries.Value, depth + 1);
        }
    }

    public override object? Read(ref MessagePackReader reader, int depth)
    {
        CheckReadDepth(depth);
        if (reader.TryReadNil())
        {
            return null;
        }

        int count = CollectionHeader.ReadMapLength(ref reader);
        var result = (IDictionary)Activator.CreateInstance(_concrete, count)!;
        for (int i = 0; i < count; i++)
        {
            object key = _key.Read(ref reader, depth + 1)
                ?? throw new IsolateSerializationException($"A key of {Type} is nil; dictionary keys cannot be null.");
            object? item = _value.Read(ref reader, depth + 1);
            try
            {
                result.Add(key, item);
            }
            catch (ArgumentException ex)
            {
                throw new IsolateSerializationException($"The payload holds the key '{key}' of {Type} twice.", ex);
            }
        }

        return _toImmutable is null ? result : _toImmutable.Invoke(null, [result]);
    }
}
