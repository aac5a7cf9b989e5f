using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Serialization;
using MessagePack;

namespace Isolates.Wire;

/// <summary>
/// User types marked <c>[MessagePackObject]</c>: their <c>[Key]</c> members travel as a MessagePack array (integer
/// keys) or map (string keys), and the receiver rebuilds its own type through a constructor whose parameters
/// match the members by name, then sets the rest. Everything is reflection over metadata, so decoding a type in
/// a fresh isolate compiles nothing but the type's own constructor.
/// </summary>
internal sealed partial class ObjectCodec : Codec
{
    private Member[] _members = [];
    private Member?[] _byIndex = [];
    private Dictionary<string, Member> _byName = [];
    private bool _intKeys;
    private ConstructorInfo? _constructor;
    private int[] _constructorMembers = [];
    private object?[] _constructorDefaults = [];
    private int[]? _argumentOf; // member ordinal -> constructor argument, when the constructor sets every member

    public ObjectCodec(Type type)
        : base(type)
    {
    }

    public override void Write(ref MessagePackWriter writer, object? value, int depth)
    {
        CheckWriteDepth(depth, Type);
        if (value is null)
        {
            writer.WriteNil();
            return;
        }

        if (value.GetType() != Type)
        {
            throw new NotShareableException(value.GetType(), string.Empty,
                $"A {value.GetType()} was passed where {Type} is declared. Only the declared type's members would cross, so the value would be cut short; declare the exact type.");
        }

        CountUse();
        if (_intKeys)
        {
            writer.WriteArrayHeader(_byIndex.Length);
            foreach (Member? member in _byIndex)
            {
                if (member is null)
                {
                    writer.WriteNil();
                }
                else
                {
                    member.Codec.Write(ref writer, member.Get(value), depth + 1);
                }
            }
        }
        else
        {
            writer.WriteMapHeader(_members.Length);
            foreach (Member member in _members)
            {
                WireString.Write(ref writer, member.StringKey);
                member.Codec.Write(ref writer, member.Get(value), depth + 1);
            }
        }
    }

    public override object? Read(ref MessagePackReader reader, int depth)
    {
        CheckReadDepth(depth);
        if (reader.TryReadNil())
        {
            return Type.IsValueType ? throw new IsolateSerializationException($"Expected a {Type} but the payload holds nil.") : null;
        }

        CountUse();
        if (_argumentOf is { } argumentOf && reader.NextMessagePackType == MessagePackType.Array)
        {
            return ReadStraightIntoConstructor(ref reader, depth, argumentOf);
        }

        var values = new object?[_members.Length];
        var present = new bool[_members.Length];
        if (reader.NextMessagePackType == MessagePackType.Array)
        {
            int count = CollectionHeader.ReadArrayLength(ref reader);
            for (int i = 0; i < count; i++)
            {
                if (i < _byIndex.Length && _byIndex[i] is { } member)
                {
                    values[member.Ordinal] = member.Codec.Read(ref reader, depth + 1);
                    present[member.Ordinal] = true;
                }
                else
                {
                    reader.Skip();
                }
            }
        }
        else
        {
            int count = CollectionHeader.ReadMapLength(ref reader);
            for (int i = 0; i < count; i++)
            {
                string key = WireString.Read(ref reader) ?? throw new IsolateSerializationException($"A member key of {Type} is nil.");
                if (_byName.TryGetValue(key, out Member? member))
                {
                    values[member.Ordinal] = member.Codec.Read(ref reader, depth + 1);
                    present[member.Ordinal] = true;
                }
                else
                {
                    reader.Skip();
                }
            }
        }

        return Construct(values, present);
    }

    /// <summary>
    /// The common case (records): every member is a constructor parameter, so values go straight into the
    /// constructor's argument array, one allocation instead of three.
    /// </summary>
    private object ReadStraightIntoConstructor(ref MessagePackReader reader, int depth, int[] argumentOf)
    {
        var arguments = (object?[])_constructorDefaults.Clone();
        int count = CollectionHeader.ReadArrayLength(ref reader);
        for (int i = 0; i < count; i++)
        {
            if (i < _byIndex.Length && _byIndex[i] is { } member)
            {
                arguments[argumentOf[member.Ordinal]] = member.Codec.Read(ref reader, depth + 1);
            }
            else
            {
                reader.Skip();
            }
        }

        try
        {
            return _compiledConstructor is { } compiled
                ? compiled(arguments)
                : _constructor!.Invoke(BindingFlags.DoNotWrapExceptions, binder: null, arguments, culture: null);
        }
        catch (Exception ex) when (ex is not IsolateException)
        {
            throw new IsolateSerializationException($"Rebuilding a {Type} from the payload failed: {ex.GetType().Name}: {ex.Message}", ex);
        }
    }

    private object Construct(object?[] values, bool[] present)
    {
        object instance;
        try
        {
            if (_constructor is null)
            {
                instance = RuntimeHelpers.GetUninitializedObject(Type);
            }
            else
            {
                var arguments = new object?[_constructorMembers.Length];
                for (int i = 0; i < arguments.Length; i++)
                {
                    int ordinal = _constructorMembers[i];
                    arguments[i] = present[ordinal] ? values[ordinal] : _constructorDefaults[i];
                }

                instance = _compiledConstructor is { } compiled
                    ? compiled(arguments)
                    : _constructor.Invoke(BindingFlags.DoNotWrapExceptions, binder: null, arguments, culture: null);
            }

            foreach (Member member in _members)
            {
                if (present[member.Ordinal] && !member.SetByConstructor)
                {
                    member.Set(instance, values[member.Ordinal]);
                }
            }
        }
        catch (Exception ex) when (ex is not IsolateException)
        {
            throw new IsolateSerializationException($"Rebuilding a {Type} from the payload failed: {ex.GetType().Name}: {ex.Message}", ex);
        }

        return instance;
    }

    /// <summary>One encoded member: how to read it from an instance and how to put it back.</summary>
    private sealed class Member(string name, Type type, FieldInfo? fieldInfo, PropertyInfo? propertyInfo)
    {
        public string Name { get; } = name;

        public Type Type { get; } = type;

        public int Ordinal { get; set; }

        public int IntKey { get; set; } = -1;

        public string StringKey { get; set; } = name;

        public bool SetByConstructor { get; set; }

        public Codec Codec { get; set; } = null!;

        public bool CanSet => fieldInfo is not null || propertyInfo?.SetMethod is not null;

        public FieldInfo? Field => fieldInfo;

        public PropertyInfo? Property => propertyInfo;

        /// <summary>A compiled getter, once the type has been used often enough to be worth compiling.</summary>
        public Func<object, object?>? CompiledGet { get; set; }

        public object? Get(object instance) =>
            CompiledGet is { } compiled ? compiled(instance)
            : fieldInfo is not null ? fieldInfo.GetValue(instance)
            : propertyInfo!.GetValue(instance);

        public void Set(object instance, object? value)
        {
            if (fieldInfo is not null)
            {
                fieldInfo.SetValue(instance, value);
            }
            else
            {
                propertyInfo!.SetValue(instance, value);
            }
        }
    }
}
