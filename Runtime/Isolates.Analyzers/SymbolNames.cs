using System.Text;
using Microsoft.CodeAnalysis;

namespace Isolates.Analyzers;

/// <summary>Names symbols the way the analyzer compares and reports them.</summary>
internal static class SymbolNames
{
    /// <summary>How a type appears in a message: namespace-qualified, C# generic syntax, like System.IO.Stream.</summary>
    public static readonly SymbolDisplayFormat Display = new(
        typeQualificationStyle: SymbolDisplayTypeQualificationStyle.NameAndContainingTypesAndNamespaces,
        genericsOptions: SymbolDisplayGenericsOptions.IncludeTypeParameters,
        miscellaneousOptions: SymbolDisplayMiscellaneousOptions.ExpandNullable);

    /// <summary>The metadata name with namespace, as in System.Collections.Generic.List`1, of the type's definition.</summary>
    public static string MetadataName(INamedTypeSymbol type)
    {
        var builder = new StringBuilder(type.OriginalDefinition.MetadataName);
        for (INamedTypeSymbol? outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
        {
            builder.Insert(0, '+').Insert(0, outer.MetadataName);
        }

        for (INamespaceSymbol? ns = type.ContainingNamespace; ns is not null && !ns.IsGlobalNamespace; ns = ns.ContainingNamespace)
        {
            builder.Insert(0, '.').Insert(0, ns.MetadataName);
        }

        return builder.ToString();
    }

    /// <summary>Whether <paramref name="symbol"/> carries an attribute whose class has this metadata name.</summary>
    public static bool HasAttribute(ISymbol symbol, string attributeMetadataName)
    {
        foreach (AttributeData attribute in symbol.GetAttributes())
        {
            if (attribute.AttributeClass is { } attributeClass && MetadataName(attributeClass) == attributeMetadataName)
            {
                return true;
            }
        }

        return false;
    }
}
