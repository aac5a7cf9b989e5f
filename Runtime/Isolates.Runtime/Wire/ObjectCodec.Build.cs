using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Serialization;
using MessagePack;

namespace Isolates.Wire;

/// <summary>How an <see cref="ObjectCodec"/> finds a type's members and constructor (MessagePack's rules).</summary>
internal sealed partial class ObjectCodec
{
    private const BindingFlags InstanceMembers = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;

    /// <summary>Finds members and constructor; <paramref name="memberCodec"/> builds (or finds) each member's codec.</summary>
    public void Initialize(MessagePackObjectAttribute attribute, Func<Type, string, Codec> memberCodec) =>
        Initialize(attribute.KeyAsPropertyName ? FindNamedMembers() : FindKeyedMembers(), memberCodec);

    /// <summary>
    /// For <c>[Shareable]</c> types: public members by name, after checking the type is immutable (the analyzer checks
    /// the same at build time; this catches code compiled without it, such as scripts).
    /// </summary>
    public void InitializeShareable(Func<Type, string, Codec> memberCodec)
    {
        foreach ((MemberInfo info, _, FieldInfo? field, PropertyInfo? property) in EnumerateMembers())
        {
            if (info.IsDefined(typeof(IgnoreMemberAttribute)))
            {
                continue;
            }

            bool mutable = info switch
            {
                PropertyInfo p => p.SetMethod is { } setter && !IsInitOnly(setter),
                FieldInfo f => !f.IsInitOnly && !f.IsLiteral,
                _ => false,
            };
            if (mutable && (IsPublic(info) || info is FieldInfo))
            {
                throw new NotShareableException(Type, info.Name,
                    $"{Type.Name}.{info.Name}: {(info is FieldInfo ? "field is not readonly" : "settable property")}; [Shareable] types must be immutable (use init or get-only, readonly fields).");
            }
        }

        // Positional: both sides read the members from the same assembly's metadata, in the same order, so an
        // array is enough, and decoding allocates no key strings.
        List<Member> members = FindNamedMembers(includeNonPublic: true);
        for (int i = 0; i < members.Count; i++)
        {
            members[i].IntKey = i;
        }

        Initialize(members, memberCodec);
    }

    private static bool IsInitOnly(MethodInfo setter) =>
        setter.ReturnParameter.GetRequiredCustomModifiers().Any(m => m.FullName == "System.Runtime.CompilerServices.IsExternalInit");

    private void Initialize(List<Member> members, Func<Type, string, Codec> memberCodec)
    {
        if (Type.IsAbstract || Type.IsInterface)
        {
            throw new NotShareableException(Type, string.Empty, $"{Type} is abstract; only concrete types can be rebuilt on the other side.");
        }

        _intKeys = members.Count > 0 && members.TrueForAll(m => m.IntKey >= 0);
        if (!_intKeys && members.Exists(m => m.IntKey >= 0))
        {
            throw new NotShareableException(Type, string.Empty, $"{Type} mixes integer and string [Key]s; use one kind for all members.");
        }

        for (int i = 0; i < members.Count; i++)
        {
            members[i].Ordinal = i;
            members[i].Codec = memberCodec(members[i].Type, members[i].Name);
        }

        _members = [.. members];
        if (_intKeys)
        {
            _byIndex = new Member?[members.Max(m => m.IntKey) + 1];
            foreach (Member member in members)
            {
                _byIndex[member.IntKey] = _byIndex[member.IntKey] is null
                    ? member
                    : throw new NotShareableException(Type, member.Name, $"{Type.Name}.{member.Name}: [Key({member.IntKey})] is used twice in {Type}.");
            }
        }
        else
        {
            _byName = new Dictionary<string, Member>(StringComparer.Ordinal);
            foreach (Member member in members)
            {
                if (!_byName.TryAdd(member.StringKey, member))
                {
                    throw new NotShareableException(Type, member.Name, $"{Type.Name}.{member.Name}: key \"{member.StringKey}\" is used twice in {Type}.");
                }
            }
        }

        ChooseConstructor();
    }

    private List<Member> FindKeyedMembers()
    {
        var members = new List<Member>();
        foreach ((MemberInfo info, Type type, FieldInfo? field, PropertyInfo? property) in EnumerateMembers())
        {
            KeyAttribute? key = info.GetCustomAttribute<KeyAttribute>();
            if (key is null)
            {
                bool ignored = info.IsDefined(typeof(IgnoreMemberAttribute)) || info.IsDefined(typeof(IgnoreDataMemberAttribute));
                if (IsPublic(info) && !ignored)
                {
                    throw new NotShareableException(Type, info.Name,
                        $"{Type.Name}.{info.Name}: public members of a [MessagePackObject] need a [Key] or [IgnoreMember], so that no data is dropped silently.");
                }

                continue;
            }

            var member = new Member(info.Name, type, field, property);
            if (key.IntKey is int intKey)
            {
                member.IntKey = intKey >= 0 ? intKey : throw new NotShareableException(Type, info.Name, $"{Type.Name}.{info.Name}: [Key] must not be negative.");
            }
            else
            {
                member.StringKey = key.StringKey!;
            }

            members.Add(member);
        }

        return members;
    }

    /// <summary>Members by name: public ones for MessagePack's keyAsPropertyName; all of them for [Shareable], whose state must arrive whole.</summary>
    private List<Member> FindNamedMembers(bool includeNonPublic = false)
    {
        var members = new List<Member>();
        foreach ((MemberInfo info, Type type, FieldInfo? field, PropertyInfo? property) in EnumerateMembers())
        {
            if (includeNonPublic && info is PropertyInfo { SetMethod: null } && field is null)
            {
                continue; // a computed property carries no state of its own: its inputs are sent
            }

            if (includeNonPublic && info.Name == "EqualityContract")
            {
                continue; // the compiler's record plumbing, not state
            }

            if ((!includeNonPublic && !IsPublic(info)) || info.IsDefined(typeof(IgnoreMemberAttribute)) || info.IsDefined(typeof(IgnoreDataMemberAttribute)))
            {
                continue;
            }

            var member = new Member(info.Name, type, field, property);
            if (info.GetCustomAttribute<KeyAttribute>()?.StringKey is { } explicitName)
            {
                member.StringKey = explicitName;
            }

            members.Add(member);
        }

        return members;
    }

    private static bool IsPublic(MemberInfo member) => member switch
    {
        PropertyInfo property => property.GetMethod?.IsPublic ?? false,
        FieldInfo field => field.IsPublic,
        _ => false,
    };

    /// <summary>Instance fields and properties of the type and its bases; auto-properties are accessed through their backing field.</summary>
    private IEnumerable<(MemberInfo Info, Type Type, FieldInfo? Field, PropertyInfo? Property)> EnumerateMembers()
    {
        var seenProperties = new HashSet<string>(StringComparer.Ordinal);
        for (Type? current = Type; current is not null && current != typeof(object) && current != typeof(ValueType); current = current.BaseType)
        {
            foreach (PropertyInfo property in current.GetProperties(InstanceMembers))
            {
                if (property.GetIndexParameters().Length > 0 || property.GetMethod is null || !seenProperties.Add(property.Name))
                {
                    continue;
                }

                FieldInfo? backing = current.GetField($"<{property.Name}>k__BackingField", InstanceMembers);
                yield return (property, property.PropertyType, backing, backing is null ? property : null);
            }

            foreach (FieldInfo field in current.GetFields(InstanceMembers))
            {
                if (!field.Name.StartsWith('<'))
                {
                    yield return (field, field.FieldType, field, null);
                }
            }
        }
    }

    private void ChooseConstructor()
    {
        ConstructorInfo[] constructors = Type.GetConstructors(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic);
        ConstructorInfo? chosen = constructors.FirstOrDefault(c => c.IsDefined(typeof(SerializationConstructorAttribute)));
        int[]? mapping = chosen is null ? null : MapParameters(chosen)
            ?? throw new NotShareableException(Type, string.Empty, $"The [SerializationConstructor] of {Type} has parameters that match no [Key] member by name and type.");

        if (chosen is null)
        {
            foreach (ConstructorInfo candidate in constructors.Where(c => c.IsPublic).OrderByDescending(c => c.GetParameters().Length))
            {
                if (MapParameters(candidate) is { } candidateMapping)
                {
                    chosen = candidate;
                    mapping = candidateMapping;
                    break;
                }
            }
        }

        if (chosen is null && !Type.IsValueType)
        {
            chosen = constructors.FirstOrDefault(c => c.GetParameters().Length == 0)
                ?? throw new NotShareableException(Type, string.Empty,
                    $"{Type} has no constructor the runtime can call: add a public constructor whose parameters match its members by name (a record's primary constructor does), or a parameterless one.");
            mapping = [];
        }

        _constructor = chosen;
        _constructorMembers = mapping ?? [];
        ParameterInfo[] parameters = chosen?.GetParameters() ?? [];
        _constructorDefaults = new object?[parameters.Length];
        for (int i = 0; i < parameters.Length; i++)
        {
            Type parameterType = parameters[i].ParameterType;
            _constructorDefaults[i] = parameters[i].HasDefaultValue && parameters[i].DefaultValue is not DBNull
                ? parameters[i].DefaultValue
                : parameterType.IsValueType && Nullable.GetUnderlyingType(parameterType) is null ? RuntimeHelpers.GetUninitializedObject(parameterType) : null;
            _members[_constructorMembers[i]].SetByConstructor = true;
        }

        if (_intKeys && _constructor is not null && _members.Length > 0 && Array.TrueForAll(_members, m => m.SetByConstructor))
        {
            _argumentOf = new int[_members.Length];
            for (int i = 0; i < _constructorMembers.Length; i++)
            {
                _argumentOf[_constructorMembers[i]] = i;
            }
        }

        foreach (Member member in _members)
        {
            if (!member.SetByConstructor && !member.CanSet)
            {
                throw new NotShareableException(Type, member.Name,
                    $"{Type.Name}.{member.Name} is encoded but cannot be set when the value is rebuilt: give it a setter (init is fine) or a matching constructor parameter.");
            }
        }
    }

    /// <summary>A member or parameter name without field prefixes, so <c>_overdraft</c> matches parameter <c>overdraft</c>.</summary>
    private static string Plain(string? name)
    {
        string plain = name ?? string.Empty;
        if (plain.StartsWith("m_", StringComparison.Ordinal))
        {
            plain = plain[2..];
        }

        return plain.TrimStart('_');
    }

    private int[]? MapParameters(ConstructorInfo constructor)
    {
        ParameterInfo[] parameters = constructor.GetParameters();
        var mapping = new int[parameters.Length];
        for (int i = 0; i < parameters.Length; i++)
        {
            Member? match = Array.Find(_members, m =>
                string.Equals(Plain(m.Name), Plain(parameters[i].Name), StringComparison.OrdinalIgnoreCase) && m.Type == parameters[i].ParameterType);
            if (match is null)
            {
                return null;
            }

            mapping[i] = match.Ordinal;
        }

        return mapping;
    }
}
