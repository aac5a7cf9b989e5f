using Microsoft.CodeAnalysis;

namespace Isolates.Analyzers;

/// <summary>The diagnostics the shareable analyzer reports; ids are stable and documented in docs/shareable.md.</summary>
internal static class Descriptors
{
    private const string Category = "Isolates";
    // Absolute, so it works in a package user's IDE; the address comes from RepositoryUrl (RepositoryInfo is generated).
    private const string HelpLink = RepositoryInfo.DocsUrl + "docs/shareable.md#the-build-time-check";
    private const string CodecHelpLink = RepositoryInfo.DocsUrl + "docs/shareable.md#the-generated-codec";

    /// <summary>ISO001: a field that is not readonly or a property with a <c>set</c> accessor.</summary>
    public static readonly DiagnosticDescriptor MutableMember = new(
        id: "ISO001",
        title: "[Shareable] types must be immutable",
        messageFormat: "{0}: {1}; [Shareable] types must be immutable ({2})",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "A [Shareable] value is copied between isolates, so it must not change after it is built: "
            + "make every instance field readonly and give every property only get or init accessors.",
        helpLinkUri: HelpLink);

    /// <summary>ISO002: a field or auto-property whose type cannot cross between isolates.</summary>
    public static readonly DiagnosticDescriptor NotShareableMember = new(
        id: "ISO002",
        title: "Members of [Shareable] types must be shareable",
        messageFormat: "{0}: {1} is not shareable",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "Every field and auto-property of a [Shareable] type crosses between isolates, so its type must be "
            + "shareable: a primitive, string, decimal, DateTime, DateTimeOffset, TimeSpan, Guid, an enum, a supported "
            + "collection or channel end of shareable elements, or a type marked [Shareable] or [MessagePackObject]. "
            + "Mark a member [IgnoreMember] to leave it out.",
        helpLinkUri: HelpLink);

    /// <summary>ISO003: the attribute is on a type that cannot be rebuilt as a value on the other side.</summary>
    public static readonly DiagnosticDescriptor InvalidShareableType = new(
        id: "ISO003",
        title: "[Shareable] must be on a concrete type",
        messageFormat: "{0}: {1}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "The receiver rebuilds a [Shareable] value as its own copy of the declared type, so the type must "
            + "be concrete and derive only from object, ValueType or another [Shareable] type.",
        helpLinkUri: HelpLink);

    /// <summary>ISO004 (info): no codec is generated for a [Shareable] type; the runtime's reflection codec encodes it.</summary>
    public static readonly DiagnosticDescriptor NoGeneratedCodec = new(
        id: "ISO004",
        title: "No wire codec is generated for this [Shareable] type",
        messageFormat: "{0}: no wire codec is generated ({1}); the runtime encodes it with its reflection codec, which is slower and compiles accessors at run time",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Info,
        isEnabledByDefault: true,
        description: "The source generator writes a codec for each [Shareable] type it can reach from generated code. "
            + "For the shapes it does not cover the value still crosses, in the same bytes, through the runtime's reflection codec.",
        helpLinkUri: CodecHelpLink);

    /// <summary>ISO005: a member of a [MessagePackObject] type that the runtime would refuse when the type is first sent.</summary>
    public static readonly DiagnosticDescriptor MessagePackMember = new(
        id: "ISO005",
        title: "Members of [MessagePackObject] types must be able to cross between isolates",
        messageFormat: "{0}: {1}; {2}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "The runtime sends a [MessagePackObject] value's [Key] members and rebuilds it on the other side, so every "
            + "public member needs [Key] or [IgnoreMember], keys must be unique and not negative, every keyed member's type must be "
            + "shareable, and a member the constructor does not set must be settable. The same checks run when the type is first sent.",
        helpLinkUri: HelpLink);

    /// <summary>ISO006: a [MessagePackObject] type the runtime cannot encode or rebuild as a whole.</summary>
    public static readonly DiagnosticDescriptor MessagePackType = new(
        id: "ISO006",
        title: "[MessagePackObject] types must be rebuildable by the isolates runtime",
        messageFormat: "{0}: {1}; {2}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "The runtime encodes a [MessagePackObject] value with one kind of key and rebuilds it through its "
            + "[SerializationConstructor], a public constructor whose parameters match members by name and type, or a parameterless constructor.",
        helpLinkUri: HelpLink);
}
