using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Isolates.Analyzers;

/// <summary>
/// Checks types marked <c>[Isolates.Shareable]</c> when they are compiled: immutable members (ISO001), members of
/// shareable types (ISO002) and a concrete type with an allowed base (ISO003); and types marked
/// <c>[MessagePack.MessagePackObject]</c> (ISO005 for a member, ISO006 for the type, see <see cref="MessagePackObjectCheck"/>).
/// The same rules the runtime applies when it first sends the type, reported at build time with the member path.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class ShareableAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(
            Descriptors.MutableMember, Descriptors.NotShareableMember, Descriptors.InvalidShareableType,
            Descriptors.MessagePackMember, Descriptors.MessagePackType);

    /// <inheritdoc />
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.Analyze | GeneratedCodeAnalysisFlags.ReportDiagnostics);
        context.EnableConcurrentExecution();
        context.RegisterSymbolAction(AnalyzeType, SymbolKind.NamedType);
    }

    private static void AnalyzeType(SymbolAnalysisContext context)
    {
        var type = (INamedTypeSymbol)context.Symbol;
        // The runtime encodes a type that has both attributes by MessagePack's rules, so those are checked whenever
        // [MessagePackObject] is there; [Shareable]'s own rules stay checked too, since the attribute promises them.
        if (MessagePackObjectAttribute(type) is { } attribute)
        {
            MessagePackObjectCheck.Analyze(new MessagePackReporter(context), type, attribute);
        }

        if (!SymbolNames.HasAttribute(type, ShareableTypes.ShareableAttribute))
        {
            return;
        }

        if (InvalidTypeReason(type) is { } reason)
        {
            context.ReportDiagnostic(Diagnostic.Create(Descriptors.InvalidShareableType, Location(type), type.Name, reason));
        }

        // Fields that store an auto-property: the property is checked, not its storage.
        var stored = new HashSet<ISymbol>(SymbolEqualityComparer.Default);
        foreach (ISymbol member in type.GetMembers())
        {
            if (member is IFieldSymbol { AssociatedSymbol: { } associated })
            {
                stored.Add(associated);
            }
        }

        foreach (ISymbol member in type.GetMembers())
        {
            if (member.IsStatic || member.IsImplicitlyDeclared || SymbolNames.HasAttribute(member, ShareableTypes.IgnoreMemberAttribute))
            {
                continue;
            }

            string path = type.Name + "." + member.Name;
            switch (member)
            {
                case IFieldSymbol field when field.AssociatedSymbol is null:
                    if (!field.IsReadOnly)
                    {
                        Report(context, Descriptors.MutableMember, field, path, "field is not readonly", "make the field readonly");
                    }

                    CheckType(context, field, field.Type, path);
                    break;
                case IPropertySymbol { IsIndexer: false } property:
                    if (property.SetMethod is { IsInitOnly: false })
                    {
                        // A record struct's positional properties are settable unless the struct is readonly.
                        string fix = IsPositional(property) ? "declare it a readonly record struct" : "use init or get-only";
                        Report(context, Descriptors.MutableMember, property, path, "settable property", fix);
                    }

                    // Only stored data crosses; a computed property (no backing field) has nothing to send.
                    if (stored.Contains(property))
                    {
                        CheckType(context, property, property.Type, path);
                    }

                    break;
                case IEventSymbol @event when IsFieldLike(@event):
                    CheckType(context, @event, @event.Type, path);
                    break;
            }
        }
    }

    // Only the type's own attribute counts, as for the runtime (inherit: false): a derived type without it is not one.
    private static AttributeData? MessagePackObjectAttribute(INamedTypeSymbol type)
    {
        foreach (AttributeData attribute in type.GetAttributes())
        {
            if (attribute.AttributeClass is { } attributeClass && SymbolNames.MetadataName(attributeClass) == ShareableTypes.MessagePackObjectAttribute)
            {
                return attribute;
            }
        }

        return null;
    }

    private static bool IsPositional(IPropertySymbol property)
    {
        foreach (SyntaxReference reference in property.DeclaringSyntaxReferences)
        {
            if (reference.GetSyntax() is ParameterSyntax)
            {
                return true;
            }
        }

        return false;
    }

    // A field-like event (no add/remove bodies) stores its delegate in a field; Roslyn does not list that field.
    private static bool IsFieldLike(IEventSymbol @event)
    {
        foreach (SyntaxReference reference in @event.DeclaringSyntaxReferences)
        {
            if (reference.GetSyntax() is VariableDeclaratorSyntax)
            {
                return true;
            }
        }

        return false;
    }

    private static string? InvalidTypeReason(INamedTypeSymbol type)
    {
        if (type.IsStatic)
        {
            return "a static class has no values to share";
        }

        if (type.IsAbstract || type.TypeKind == TypeKind.Interface)
        {
            return "an abstract type cannot be [Shareable]; only a concrete type can be rebuilt on the other side";
        }

        if (type.IsRefLikeType)
        {
            return "a ref struct cannot leave the stack it lives on";
        }

        INamedTypeSymbol? baseType = type.BaseType;
        if (baseType is null || type.TypeKind != TypeKind.Class
            || baseType.SpecialType == SpecialType.System_Object
            || SymbolNames.HasAttribute(baseType, ShareableTypes.ShareableAttribute))
        {
            return null;
        }

        return $"base type {baseType.ToDisplayString(SymbolNames.Display)} is not [Shareable]; "
            + "derive from object or another [Shareable] type";
    }

    private static void CheckType(SymbolAnalysisContext context, ISymbol member, ITypeSymbol type, string path)
    {
        if (!ShareableTypes.IsShareable(type, path, out ITypeSymbol failingType, out string failingPath))
        {
            context.ReportDiagnostic(Diagnostic.Create(
                Descriptors.NotShareableMember, Location(member), failingPath, failingType.ToDisplayString(SymbolNames.Display)));
        }
    }

    private static void Report(SymbolAnalysisContext context, DiagnosticDescriptor descriptor, ISymbol member, string path, string what, string fix) =>
        context.ReportDiagnostic(Diagnostic.Create(descriptor, Location(member), path, what, fix));

    private static Location Location(ISymbol symbol) =>
        symbol.Locations.Length > 0 ? symbol.Locations[0] : Microsoft.CodeAnalysis.Location.None;
}
