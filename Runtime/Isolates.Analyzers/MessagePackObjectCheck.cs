using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Isolates.Analyzers;

/// <summary>
/// Checks types marked <c>[MessagePack.MessagePackObject]</c> with the rules the runtime's reflection codec
/// (Wire/ObjectCodec.Build.cs) applies when such a type is first sent: which members cross (keys), that each member's
/// type is shareable, and that the receiver can rebuild the value. Mutability is not checked: the runtime copies
/// these types, as MessagePack-CSharp does, and accepts settable members.
/// </summary>
internal static class MessagePackObjectCheck
{
    private const string KeyAttribute = "MessagePack.KeyAttribute";
    private const string IgnoreDataMemberAttribute = "System.Runtime.Serialization.IgnoreDataMemberAttribute";
    private const string SerializationConstructorAttribute = "MessagePack.SerializationConstructorAttribute";

    public static void Analyze(MessagePackReporter report, INamedTypeSymbol type, AttributeData attribute)
    {
        // The runtime refuses an abstract type only where it is the declared type of a value; as a base of concrete
        // [MessagePackObject] types it is fine, and those are checked with its members. Static classes never cross.
        if (type.IsAbstract || type.IsStatic || type.IsRefLikeType || type.TypeKind is not (TypeKind.Class or TypeKind.Struct))
        {
            return;
        }

        bool keyAsPropertyName = KeyAsPropertyName(attribute);
        var members = new List<Member>();
        foreach (Member candidate in EnumerateMembers(type))
        {
            ISymbol symbol = candidate.Symbol;
            AttributeData? key = FindInherited(symbol, KeyAttribute);
            bool ignored = FindInherited(symbol, ShareableTypes.IgnoreMemberAttribute) is not null || FindInherited(symbol, IgnoreDataMemberAttribute) is not null;
            string path = type.Name + "." + symbol.Name;
            if (keyAsPropertyName)
            {
                if (!candidate.IsPublic || ignored)
                {
                    continue;
                }

                candidate.StringKey = key?.ConstructorArguments.Length == 1 && key.ConstructorArguments[0].Value is string named ? named : symbol.Name;
            }
            else if (key is null)
            {
                if (candidate.IsPublic && !ignored)
                {
                    report.Member(symbol, path, "public member has no [Key]",
                        "add [Key(n)] (or [Key(\"name\")]) so it crosses, or [IgnoreMember] to leave it out; a member without either would be dropped silently");
                }

                continue;
            }
            else if (key.ConstructorArguments.Length == 1 && key.ConstructorArguments[0].Value is int intKey)
            {
                if (intKey < 0)
                {
                    report.Member(symbol, path, $"[Key({intKey})] is negative", "use a key of 0 or more");
                    continue;
                }

                candidate.IntKey = intKey;
            }
            else if (key.ConstructorArguments.Length == 1 && key.ConstructorArguments[0].Value is string stringKey)
            {
                candidate.StringKey = stringKey;
            }
            else
            {
                continue; // an invalid [Key] is the compiler's error
            }

            // A type parameter, also inside a collection (List<T>), is decided where the type is used (Box<int>): the
            // runtime checks it then.
            if (!ShareableTypes.IsShareable(candidate.Type, path, out ITypeSymbol failingType, out string failingPath)
                && failingType.TypeKind != TypeKind.TypeParameter)
            {
                report.Member(symbol, failingPath, failingType.ToDisplayString(SymbolNames.Display) + " is not shareable", Advice.For(failingType));
            }

            members.Add(candidate);
        }

        bool anyInt = members.Any(m => m.IntKey >= 0);
        if (anyInt && members.Any(m => m.IntKey < 0))
        {
            report.Type(type, type.Name, "it mixes integer and string [Key]s", "use one kind of key for all members");
            return;
        }

        var seenInt = new HashSet<int>();
        var seenString = new HashSet<string>(StringComparer.Ordinal);
        foreach (Member member in members)
        {
            bool duplicate = member.IntKey >= 0 ? !seenInt.Add(member.IntKey) : !seenString.Add(member.StringKey!);
            if (duplicate)
            {
                string key = member.IntKey >= 0 ? $"[Key({member.IntKey})]" : $"key \"{member.StringKey}\"";
                report.Member(member.Symbol, type.Name + "." + member.Symbol.Name, key + " is used twice", "give each member its own key");
            }
        }

        CheckConstructor(report, type, members);
    }

    /// <summary>The runtime's constructor choice (ObjectCodec.ChooseConstructor), then every member it does not set must be settable.</summary>
    private static void CheckConstructor(MessagePackReporter report, INamedTypeSymbol type, List<Member> members)
    {
        IMethodSymbol[] constructors = [.. type.InstanceConstructors];
        IMethodSymbol? marked = constructors.FirstOrDefault(c => SymbolNames.HasAttribute(c, SerializationConstructorAttribute));
        HashSet<Member>? setByConstructor = null;
        if (marked is not null)
        {
            setByConstructor = Map(marked, members);
            if (setByConstructor is null)
            {
                report.Type(marked, type.Name, "the parameters of its [SerializationConstructor] do not all match a [Key] member by name and type",
                    "name each parameter after a member (case-insensitive) with the member's type");
                return;
            }
        }
        else
        {
            foreach (IMethodSymbol candidate in constructors.Where(c => c.DeclaredAccessibility == Accessibility.Public).OrderByDescending(c => c.Parameters.Length))
            {
                if (Map(candidate, members) is { } mapped)
                {
                    setByConstructor = mapped;
                    break;
                }
            }
        }

        if (setByConstructor is null && type.TypeKind == TypeKind.Class)
        {
            if (!constructors.Any(c => c.Parameters.Length == 0))
            {
                report.Type(type, type.Name, "it has no constructor the runtime can call to rebuild it",
                    "add a public constructor whose parameters match its members by name and type (a record's primary constructor does), or a parameterless one");
                return;
            }
        }

        foreach (Member member in members)
        {
            if (setByConstructor?.Contains(member) != true && !member.CanSet)
            {
                report.Member(member.Symbol, type.Name + "." + member.Symbol.Name, "it is encoded but cannot be set when the value is rebuilt",
                    "give it a setter (init is fine) or a matching constructor parameter");
            }
        }
    }

    private static HashSet<Member>? Map(IMethodSymbol constructor, List<Member> members)
    {
        var mapped = new HashSet<Member>();
        foreach (IParameterSymbol parameter in constructor.Parameters)
        {
            Member? match = members.FirstOrDefault(m =>
                string.Equals(Plain(m.Symbol.Name), Plain(parameter.Name), StringComparison.OrdinalIgnoreCase)
                && SymbolEqualityComparer.Default.Equals(m.Type, parameter.Type));
            if (match is null)
            {
                return null;
            }

            mapped.Add(match);
        }

        return mapped;
    }

    /// <summary>A member or parameter name without field prefixes, as the runtime matches them (_overdraft = overdraft).</summary>
    private static string Plain(string name) => (name.StartsWith("m_", StringComparison.Ordinal) ? name.Substring(2) : name).TrimStart('_');

    private static bool KeyAsPropertyName(AttributeData attribute)
    {
        if (attribute.ConstructorArguments.Length > 0 && attribute.ConstructorArguments[0].Value is bool positional)
        {
            return positional;
        }

        foreach (KeyValuePair<string, TypedConstant> named in attribute.NamedArguments)
        {
            if (named.Key == "KeyAsPropertyName" && named.Value.Value is bool value)
            {
                return value;
            }
        }

        return false;
    }

    /// <summary>
    /// The attribute on the member or, for an override, on the property it overrides: [Key], [IgnoreMember] and
    /// [IgnoreDataMember] are inherited attributes, and the runtime reads them with reflection's inherited lookup, so
    /// an override without its own copy still has its base's key.
    /// </summary>
    private static AttributeData? FindInherited(ISymbol symbol, string metadataName)
    {
        for (ISymbol? current = symbol; current is not null; current = (current as IPropertySymbol)?.OverriddenProperty)
        {
            if (FindAttribute(current, metadataName) is { } found)
            {
                return found;
            }
        }

        return null;
    }

    private static AttributeData? FindAttribute(ISymbol symbol, string metadataName)
    {
        foreach (AttributeData attribute in symbol.GetAttributes())
        {
            if (attribute.AttributeClass is { } attributeClass && SymbolNames.MetadataName(attributeClass) == metadataName)
            {
                return attribute;
            }
        }

        return null;
    }

    /// <summary>
    /// Instance properties (with a getter, not indexers; the most derived one of a name) and declared fields of the
    /// type and its bases, as the runtime's reflection enumerates them. Backing fields are reached through their property.
    /// </summary>
    private static IEnumerable<Member> EnumerateMembers(INamedTypeSymbol type)
    {
        var seenProperties = new HashSet<string>(StringComparer.Ordinal);
        for (INamedTypeSymbol? current = type;
             current is not null && current.SpecialType is not (SpecialType.System_Object or SpecialType.System_ValueType);
             current = current.BaseType)
        {
            var stored = new HashSet<ISymbol>(SymbolEqualityComparer.Default);
            foreach (ISymbol member in current.GetMembers())
            {
                if (member is IFieldSymbol { AssociatedSymbol: { } associated })
                {
                    stored.Add(associated);
                }
            }

            foreach (ISymbol member in current.GetMembers())
            {
                if (member.IsStatic)
                {
                    continue;
                }

                switch (member)
                {
                    case IPropertySymbol { IsIndexer: false, GetMethod: not null } property when seenProperties.Add(property.Name):
                        bool isPublic = property.GetMethod.DeclaredAccessibility == Accessibility.Public;

                        // Backing fields of properties in metadata are not visible here: assume a metadata property can be set.
                        bool canSet = property.SetMethod is not null || stored.Contains(property) || !property.Locations.Any(l => l.IsInSource);
                        yield return new Member(property, property.Type, isPublic, canSet);
                        break;
                    case IFieldSymbol { AssociatedSymbol: null, IsImplicitlyDeclared: false, IsConst: false } field:
                        yield return new Member(field, field.Type, field.DeclaredAccessibility == Accessibility.Public, canSet: true);
                        break;
                }
            }
        }
    }

    private sealed class Member(ISymbol symbol, ITypeSymbol type, bool isPublic, bool canSet)
    {
        public ISymbol Symbol { get; } = symbol;

        public ITypeSymbol Type { get; } = type;

        public bool IsPublic { get; } = isPublic;

        public bool CanSet { get; } = canSet;

        public int IntKey { get; set; } = -1;

        public string? StringKey { get; set; }
    }
}

/// <summary>Reports ISO005 (a member) and ISO006 (the type) with what is wrong and what to do.</summary>
internal readonly struct MessagePackReporter(SymbolAnalysisContext context)
{
    public void Member(ISymbol member, string path, string what, string fix) =>
        context.ReportDiagnostic(Diagnostic.Create(Descriptors.MessagePackMember, LocationOf(member), path, what, fix));

    public void Type(ISymbol at, string typeName, string what, string fix) =>
        context.ReportDiagnostic(Diagnostic.Create(Descriptors.MessagePackType, LocationOf(at), typeName, what, fix));

    private static Location LocationOf(ISymbol symbol) => symbol.Locations.Length > 0 ? symbol.Locations[0] : Location.None;
}
