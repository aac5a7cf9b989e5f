using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Isolates.Analyzers;

/// <summary>
/// Works out, for one <c>[Shareable]</c> type, the member list and constructor the runtime's reflection codec
/// (Wire/ObjectCodec.Build.cs) uses, with the same rules in the same order, so the generated codec writes the same
/// bytes. When any rule cannot be mirrored exactly, no codec is generated and the reflection codec stays in charge.
/// </summary>
internal static partial class CodecPlan
{
    public const string CodecBaseName = "Isolates.CompilerServices.ShareableCodec`1";

    private const string SerializationConstructorAttribute = "MessagePack.SerializationConstructorAttribute";
    private const string IgnoreDataMemberAttribute = "System.Runtime.Serialization.IgnoreDataMemberAttribute";

    public static GeneratedCodec Create(INamedTypeSymbol type, CancellationToken cancellationToken)
    {
        string typeName = type.ToDisplayString(SymbolNames.Display);
        string hintName = SymbolNames.MetadataName(type).Replace('+', '.').Replace('`', '_') + ".ShareableCodec.g.cs";
        Location? location = type.Locations.FirstOrDefault();
        if (type.IsStatic || type.IsAbstract || type.IsRefLikeType || type.TypeKind is not (TypeKind.Class or TypeKind.Struct))
        {
            return new GeneratedCodec(typeName, hintName, null, null, null); // ISO003 says what is wrong
        }

        string? reason = Plan(type, out List<Member> members, out Construction construction, cancellationToken);
        if (reason is not null)
        {
            return new GeneratedCodec(typeName, hintName, null, reason, location);
        }

        return new GeneratedCodec(typeName, hintName, Emit(type, members, construction), null, null);
    }

    private static string? Plan(INamedTypeSymbol type, out List<Member> members, out Construction construction, CancellationToken cancellationToken)
    {
        members = [];
        construction = new Construction();
        for (INamedTypeSymbol? outer = type; outer is not null; outer = outer.ContainingType)
        {
            if (outer.IsGenericType)
            {
                return "generic types are not supported by the generator";
            }

            if (!IsReachable(outer.DeclaredAccessibility) || outer.IsFileLocal)
            {
                return $"{outer.Name} is private, protected or file-local, so generated code cannot name it";
            }
        }

        var levels = new List<INamedTypeSymbol>();
        for (INamedTypeSymbol? level = type; level is not null && level.SpecialType is not (SpecialType.System_Object or SpecialType.System_ValueType); level = level.BaseType)
        {
            if (!SymbolEqualityComparer.Default.Equals(level.ContainingAssembly, type.ContainingAssembly))
            {
                return $"its base type {level.Name} is declared in another assembly";
            }

            if (level.IsGenericType)
            {
                return "generic types are not supported by the generator";
            }

            levels.Add(level);
        }

        string? reason = FindMembers(levels, members, cancellationToken);
        if (reason is not null)
        {
            return reason;
        }

        if (members.Count == 0)
        {
            return "it has no members to encode";
        }

        return ChooseConstructor(type, members, construction);
    }

    private static bool IsReachable(Accessibility accessibility) =>
        accessibility is Accessibility.Public or Accessibility.Internal or Accessibility.ProtectedOrInternal;

    /// <summary>
    /// ObjectCodec.EnumerateMembers + FindNamedMembers(includeNonPublic: true): per level from the type down to its
    /// bases, properties (one per name; a stored auto-property through its backing field) then fields.
    /// </summary>
    private static string? FindMembers(List<INamedTypeSymbol> levels, List<Member> members, CancellationToken cancellationToken)
    {
        var seenProperties = new HashSet<string>(StringComparer.Ordinal);
        foreach (INamedTypeSymbol level in levels)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var backing = new Dictionary<ISymbol, IFieldSymbol>(SymbolEqualityComparer.Default);
            foreach (IFieldSymbol field in level.GetMembers().OfType<IFieldSymbol>())
            {
                if (!field.IsStatic && field.AssociatedSymbol is IPropertySymbol stored)
                {
                    backing[stored] = field;
                }
            }

            foreach (ISymbol symbol in level.GetMembers())
            {
                if (symbol is IEventSymbol { IsStatic: false })
                {
                    return $"it declares the event {symbol.Name}";
                }

                if (symbol is not IPropertySymbol property || property.IsStatic || property.IsIndexer || property.GetMethod is null)
                {
                    continue;
                }

                if (!property.ExplicitInterfaceImplementations.IsEmpty)
                {
                    return $"it implements the property {property.Name} explicitly";
                }

                if (!seenProperties.Add(property.Name))
                {
                    continue;
                }

                backing.TryGetValue(property, out IFieldSymbol? field);
                if ((property.SetMethod is null && field is null) || property.Name == "EqualityContract" || IsIgnored(property))
                {
                    continue; // computed (its inputs are sent), the record's plumbing, or left out on purpose
                }

                members.Add(new Member(property.Name, property.Type, level, field, field is null ? property : null, property));
            }

            foreach (IFieldSymbol field in level.GetMembers().OfType<IFieldSymbol>())
            {
                if (field.IsStatic || field.IsConst || field.IsImplicitlyDeclared || field.Name.StartsWith("<", StringComparison.Ordinal) || IsIgnored(field))
                {
                    continue;
                }

                members.Add(new Member(field.Name, field.Type, level, field, null, null));
            }
        }

        foreach (Member member in members)
        {
            if (!CanName(member.Type))
            {
                return $"the type of {member.Name} cannot be named from generated code";
            }

            if (member.Field is null && !CanCall(member.Property!.GetMethod))
            {
                return $"the getter of {member.Name} is not accessible to generated code";
            }
        }

        return null;
    }

    private static bool IsIgnored(ISymbol member) =>
        SymbolNames.HasAttribute(member, ShareableTypes.IgnoreMemberAttribute) || SymbolNames.HasAttribute(member, IgnoreDataMemberAttribute);

    private static bool CanCall(IMethodSymbol? method) => method is not null && IsReachable(method.DeclaredAccessibility);

    private static bool CanName(ITypeSymbol type) => type switch
    {
        IArrayTypeSymbol array => CanName(array.ElementType),
        INamedTypeSymbol named => IsReachableType(named) && named.TypeArguments.All(CanName),
        _ => false,
    };

    private static bool IsReachableType(INamedTypeSymbol type)
    {
        for (INamedTypeSymbol? outer = type; outer is not null; outer = outer.ContainingType)
        {
            if (!IsReachable(outer.DeclaredAccessibility) || outer.IsFileLocal)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>ObjectCodec.ChooseConstructor: a [SerializationConstructor], else the widest public constructor whose parameters all match members, else (classes) a parameterless one.</summary>
    private static string? ChooseConstructor(INamedTypeSymbol type, List<Member> members, Construction construction)
    {
        // Metadata holds the constructors the compiler emits; a struct's implicit parameterless one is not among them.
        List<IMethodSymbol> constructors = type.InstanceConstructors.Where(c => !(type.IsValueType && c.IsImplicitlyDeclared && c.Parameters.IsEmpty)).ToList();
        IMethodSymbol? chosen = constructors.FirstOrDefault(c => SymbolNames.HasAttribute(c, SerializationConstructorAttribute));
        int[]? mapping = chosen is null ? null : MapParameters(chosen, members);
        if (chosen is not null && mapping is null)
        {
            return "its [SerializationConstructor] does not match its members";
        }

        if (chosen is null)
        {
            foreach (IMethodSymbol candidate in constructors.Where(c => c.DeclaredAccessibility == Accessibility.Public).OrderByDescending(c => c.Parameters.Length))
            {
                if (MapParameters(candidate, members) is { } candidateMapping)
                {
                    chosen = candidate;
                    mapping = candidateMapping;
                    break;
                }
            }
        }

        if (chosen is null && !type.IsValueType)
        {
            chosen = constructors.FirstOrDefault(c => c.Parameters.IsEmpty);
            if (chosen is null)
            {
                return "it has no constructor the runtime can call";
            }

            mapping = [];
        }

        if (chosen is not null && chosen.Parameters.Any(p => p.RefKind != RefKind.None))
        {
            return "its constructor takes by-reference parameters";
        }

        construction.Constructor = chosen;
        construction.ArgumentMembers = mapping ?? [];
        foreach (int ordinal in construction.ArgumentMembers)
        {
            members[ordinal].SetByConstructor = true;
        }

        foreach (Member member in members)
        {
            if (!member.SetByConstructor && member.Field is null)
            {
                return $"{member.Name} is not set by the constructor and has no field to store it in";
            }
        }

        bool hasRequired = false;
        for (INamedTypeSymbol? level = type; level is not null; level = level.BaseType)
        {
            hasRequired |= level.GetMembers().Any(m => m is IPropertySymbol { IsRequired: true } or IFieldSymbol { IsRequired: true });
        }

        // Calling it directly is the cheapest; otherwise (not accessible, or required members) through UnsafeAccessor.
        construction.Direct = chosen is not null && IsReachable(chosen.DeclaredAccessibility) && !hasRequired;
        return null;
    }

    private static int[]? MapParameters(IMethodSymbol constructor, List<Member> members)
    {
        var mapping = new int[constructor.Parameters.Length];
        for (int i = 0; i < mapping.Length; i++)
        {
            IParameterSymbol parameter = constructor.Parameters[i];
            int match = members.FindIndex(m =>
                string.Equals(Plain(m.Name), Plain(parameter.Name), StringComparison.OrdinalIgnoreCase)
                && SymbolEqualityComparer.Default.Equals(m.Type, parameter.Type));
            if (match < 0)
            {
                return null;
            }

            mapping[i] = match;
        }

        return mapping;
    }

    /// <summary>ObjectCodec.Plain: a name without the m_ or leading underscore prefixes.</summary>
    private static string Plain(string name)
    {
        string plain = name.StartsWith("m_", StringComparison.Ordinal) ? name.Substring(2) : name;
        return plain.TrimStart('_');
    }

    /// <summary>Whether a stored property's getter only returns its backing field (so it may be read instead of the field).</summary>
    private static bool IsAutoGetter(IPropertySymbol property)
    {
        foreach (SyntaxReference reference in property.DeclaringSyntaxReferences)
        {
            switch (reference.GetSyntax())
            {
                case ParameterSyntax:
                    return true; // a positional record member
                case PropertyDeclarationSyntax declaration:
                    if (declaration.ExpressionBody is not null || declaration.AccessorList is null)
                    {
                        return false;
                    }

                    AccessorDeclarationSyntax? getter = declaration.AccessorList.Accessors.FirstOrDefault(a => a.Keyword.Text == "get");
                    return getter is { Body: null, ExpressionBody: null };
            }
        }

        return false;
    }

    /// <summary>One encoded member, in wire order.</summary>
    private sealed class Member
    {
        public Member(string name, ITypeSymbol type, INamedTypeSymbol level, IFieldSymbol? field, IPropertySymbol? property, IPropertySymbol? declaredBy)
        {
            Name = name;
            Type = type;
            Level = level;
            Field = field;
            Property = property;
            DeclaredBy = declaredBy;
        }

        public string Name { get; }

        public ITypeSymbol Type { get; }

        /// <summary>The type (the [Shareable] type or one of its bases) that declares the member.</summary>
        public INamedTypeSymbol Level { get; }

        /// <summary>The field that stores it (a backing field for auto-properties), when there is one.</summary>
        public IFieldSymbol? Field { get; }

        /// <summary>The property read for it when it has no field.</summary>
        public IPropertySymbol? Property { get; }

        /// <summary>The property it came from, if any.</summary>
        public IPropertySymbol? DeclaredBy { get; }

        public bool SetByConstructor { get; set; }

        /// <summary>Whether generated code can read it by name (otherwise through an UnsafeAccessor to its field).</summary>
        public bool ReadDirectly => Field is null
            || (DeclaredBy is { } property ? CanCall(property.GetMethod) && IsReachable(property.DeclaredAccessibility) && IsAutoGetter(property) : IsReachable(Field.DeclaredAccessibility));
    }

    private sealed class Construction
    {
        public IMethodSymbol? Constructor { get; set; }

        public int[] ArgumentMembers { get; set; } = [];

        public bool Direct { get; set; }
    }
}
