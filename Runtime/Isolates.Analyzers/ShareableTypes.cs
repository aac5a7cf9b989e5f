using System.Collections.Generic;
using Microsoft.CodeAnalysis;

namespace Isolates.Analyzers;

/// <summary>
/// The list of shareable types from docs/shareable.md, as the runtime's codecs accept them. A member type is checked
/// down through collections and channel ends; a type marked [Shareable] or [MessagePackObject], or an interface marked
/// [IsolateInterface] (a proxy), is accepted as it is, since its own declaration is checked on its own.
/// </summary>
internal static class ShareableTypes
{
    public const string ShareableAttribute = "Isolates.ShareableAttribute";
    public const string MessagePackObjectAttribute = "MessagePack.MessagePackObjectAttribute";
    public const string IgnoreMemberAttribute = "MessagePack.IgnoreMemberAttribute";
    public const string IsolateInterfaceAttribute = "Isolates.IsolateInterfaceAttribute";

    private static readonly HashSet<string> Scalars = new()
    {
        "System.DateTimeOffset",
        "System.TimeSpan",
        "System.Guid",
        "Isolates.SharedBuffer", // one read-only block shared by reference, a handle per receiver
    };

    // Arrays, lists, sets and immutable sequences: the element is at path[].
    private static readonly HashSet<string> Sequences = new()
    {
        "System.Collections.Generic.List`1",
        "System.Collections.Generic.IList`1",
        "System.Collections.Generic.IReadOnlyList`1",
        "System.Collections.Generic.ICollection`1",
        "System.Collections.Generic.IReadOnlyCollection`1",
        "System.Collections.Generic.IEnumerable`1",
        "System.Collections.Generic.HashSet`1",
        "System.Collections.Generic.ISet`1",
        "System.Collections.Generic.IReadOnlySet`1",
        "System.Collections.Immutable.ImmutableArray`1",
        "System.Collections.Immutable.ImmutableList`1",
        "System.Collections.Immutable.IImmutableList`1",
        "System.Collections.Immutable.ImmutableHashSet`1",
        "System.Collections.Immutable.IImmutableSet`1",
    };

    // Dictionaries: keys at path.Keys, values at path.Values.
    private static readonly HashSet<string> Dictionaries = new()
    {
        "System.Collections.Generic.Dictionary`2",
        "System.Collections.Generic.IDictionary`2",
        "System.Collections.Generic.IReadOnlyDictionary`2",
        "System.Collections.Immutable.ImmutableDictionary`2",
        "System.Collections.Immutable.IImmutableDictionary`2",
    };

    // Channel ends: the element is at path.<T>.
    private static readonly HashSet<string> Channels = new()
    {
        "System.Threading.Channels.ChannelReader`1",
        "System.Threading.Channels.ChannelWriter`1",
        "System.Threading.Channels.Channel`1",
    };

    /// <summary>
    /// Finds the first part of <paramref name="type"/> that is not shareable; <paramref name="path"/> names the member
    /// and grows with each element step (Order.Lines[], Order.Prices.Values).
    /// </summary>
    /// <returns>True when the whole type is shareable; otherwise the failing part and its path are set.</returns>
    public static bool IsShareable(ITypeSymbol type, string path, out ITypeSymbol failingType, out string failingPath)
    {
        failingType = type;
        failingPath = path;
        switch (type)
        {
            case IArrayTypeSymbol array:
                return array.IsSZArray && IsShareable(array.ElementType, path + "[]", out failingType, out failingPath);
            case INamedTypeSymbol named:
                return IsShareable(named, path, out failingType, out failingPath);
            default:
                // Type parameters, pointers, function pointers and dynamic; an unresolved type is the compiler's error.
                return type.TypeKind == TypeKind.Error;
        }
    }

    private static bool IsShareable(INamedTypeSymbol type, string path, out ITypeSymbol failingType, out string failingPath)
    {
        failingType = type;
        failingPath = path;
        if (type.TypeKind == TypeKind.Error || type.TypeKind == TypeKind.Enum || IsScalar(type.SpecialType))
        {
            return true;
        }

        if (type.OriginalDefinition.SpecialType == SpecialType.System_Nullable_T)
        {
            return IsShareable(type.TypeArguments[0], path, out failingType, out failingPath);
        }

        string name = SymbolNames.MetadataName(type);
        if (Scalars.Contains(name))
        {
            return true;
        }

        if (type.IsGenericType && type.TypeArguments.Length == 1)
        {
            ITypeSymbol element = type.TypeArguments[0];
            if (Sequences.Contains(name))
            {
                return IsShareable(element, path + "[]", out failingType, out failingPath);
            }

            if (Channels.Contains(name))
            {
                return IsShareable(element, path + ".<T>", out failingType, out failingPath);
            }

            // Copied as one binary block; other element types have no codec.
            if (name is "System.ReadOnlyMemory`1" or "System.Memory`1")
            {
                return element.SpecialType == SpecialType.System_Byte;
            }
        }

        if (type.IsGenericType && type.TypeArguments.Length == 2 && Dictionaries.Contains(name))
        {
            return IsShareable(type.TypeArguments[0], path + ".Keys", out failingType, out failingPath)
                && IsShareable(type.TypeArguments[1], path + ".Values", out failingType, out failingPath);
        }

        // A proxy of an [IsolateInterface] crosses by reference to its object, like a channel end (issue 15); its
        // methods are checked where the interface is declared.
        if (type.TypeKind == TypeKind.Interface)
        {
            return SymbolNames.HasAttribute(type, IsolateInterfaceAttribute);
        }

        return SymbolNames.HasAttribute(type, ShareableAttribute) || SymbolNames.HasAttribute(type, MessagePackObjectAttribute);
    }

    private static bool IsScalar(SpecialType specialType) => specialType switch
    {
        SpecialType.System_Boolean or SpecialType.System_Char or SpecialType.System_String or SpecialType.System_Decimal
            or SpecialType.System_Single or SpecialType.System_Double or SpecialType.System_DateTime
            or SpecialType.System_SByte or SpecialType.System_Byte or SpecialType.System_Int16 or SpecialType.System_UInt16
            or SpecialType.System_Int32 or SpecialType.System_UInt32 or SpecialType.System_Int64 or SpecialType.System_UInt64 => true,
        _ => false,
    };
}
