using Microsoft.CodeAnalysis;

namespace Isolates.Analyzers;

/// <summary>The diagnostics the shareable and isolate-interface analyzers report; ids are stable and documented in docs/shareable.md.</summary>
internal static class Descriptors
{
    private const string Category = "Isolates";
    // Absolute, so it works in a package user's IDE; the address comes from RepositoryUrl (RepositoryInfo is generated).
    private const string HelpLink = RepositoryInfo.DocsUrl + "docs/shareable.md#the-build-time-check";
    private const string CodecHelpLink = RepositoryInfo.DocsUrl + "docs/shareable.md#the-generated-codec";
    private const string InterfaceHelpLink = RepositoryInfo.DocsUrl + "docs/shareable.md#the-build-time-check-of-isolateinterface-interfaces";

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

    /// <summary>ISO007: a method of an [IsolateInterface] that does not return a task.</summary>
    public static readonly DiagnosticDescriptor InterfaceMethodNotAsync = new(
        id: "ISO007",
        title: "[IsolateInterface] methods must return a task",
        messageFormat: "{0}: returns {1}; a proxy call runs in another isolate, so the caller can only await it: return {2}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "A method of an [IsolateInterface] runs on the isolate that owns the object, so it must return Task, Task<T>, "
            + "ValueTask, ValueTask<T> or IAsyncEnumerable<T>; a synchronous method would block the caller on another isolate.",
        helpLinkUri: InterfaceHelpLink);

    /// <summary>ISO008: a property, indexer, event or static abstract member of an [IsolateInterface].</summary>
    public static readonly DiagnosticDescriptor InterfaceMemberNotMethod = new(
        id: "ISO008",
        title: "[IsolateInterface] members must be methods",
        messageFormat: "{0}: {1} cannot be called through a proxy; {2}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "A proxy forwards method calls to the isolate that owns the object and returns a task; properties, indexers "
            + "and events would have to block or hold a delegate across isolates, and static abstract members belong to no object. "
            + "Declare methods returning a task instead.",
        helpLinkUri: InterfaceHelpLink);

    /// <summary>ISO009: a generic method of an [IsolateInterface].</summary>
    public static readonly DiagnosticDescriptor InterfaceGenericMethod = new(
        id: "ISO009",
        title: "[IsolateInterface] methods cannot be generic",
        messageFormat: "{0}: a generic method cannot be called through a proxy, since the isolate must know the argument and result types when it decodes the call; declare a method for each type you need",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "The generated proxy and dispatcher encode and decode each method's arguments and result with types fixed at build "
            + "time; a method's type parameters would have to be chosen by the caller and rebuilt in the other isolate.",
        helpLinkUri: InterfaceHelpLink);

    /// <summary>ISO010: a ref, out, in or ref readonly parameter of an [IsolateInterface] method.</summary>
    public static readonly DiagnosticDescriptor InterfaceByRefParameter = new(
        id: "ISO010",
        title: "[IsolateInterface] method parameters must be passed by value",
        messageFormat: "{0}: parameter '{1}' is passed {2}; arguments are copied to the isolate and nothing is copied back, so pass it by value and return what the method produces (Task<T>, a [Shareable] record for several values)",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "A proxy call copies its arguments to the isolate that owns the object; a reference to the caller's variable "
            + "cannot cross, and an async method cannot have ref, out or in parameters anyway.",
        helpLinkUri: InterfaceHelpLink);

    /// <summary>ISO011: a parameter or result type of an [IsolateInterface] method that cannot cross between isolates.</summary>
    public static readonly DiagnosticDescriptor InterfaceNotShareable = new(
        id: "ISO011",
        title: "[IsolateInterface] parameters and results must be shareable",
        messageFormat: "{0}: {1}: {2} is not shareable; {3}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "A proxy call's arguments and result cross between isolates, so their types must be shareable (the list in "
            + "docs/shareable.md, another [IsolateInterface] for a proxy, and one CancellationToken parameter).",
        helpLinkUri: InterfaceHelpLink);

    /// <summary>ISO012: an [IsolateInterface] method with more than one CancellationToken parameter.</summary>
    public static readonly DiagnosticDescriptor InterfaceSecondCancellationToken = new(
        id: "ISO012",
        title: "[IsolateInterface] methods take at most one CancellationToken",
        messageFormat: "{0}: parameter '{1}' is a second CancellationToken; a proxy call honours one token, so take one and let callers combine theirs with CancellationTokenSource.CreateLinkedTokenSource",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "A CancellationToken parameter is not copied: the isolate gets its own token, cancelled when the caller's is. "
            + "A proxy call carries one such token.",
        helpLinkUri: InterfaceHelpLink);

    /// <summary>ISO013: an [IsolateInterface] inherits a member from an interface that is not [IsolateInterface].</summary>
    public static readonly DiagnosticDescriptor InterfaceInheritsUnchecked = new(
        id: "ISO013",
        title: "[IsolateInterface] interfaces must inherit only [IsolateInterface] interfaces",
        messageFormat: "{0}: inherits {1} from {2}, which is not [IsolateInterface]; mark {2} [IsolateInterface] (its members are then checked there) or do not inherit it",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "The proxy implements every member the interface inherits, so each must follow the [IsolateInterface] rules; "
            + "a base interface without members (a marker) is fine.",
        helpLinkUri: InterfaceHelpLink);

    /// <summary>ISO014: [IsolateInterface] on a generic interface (or one nested in a generic type).</summary>
    public static readonly DiagnosticDescriptor InterfaceGeneric = new(
        id: "ISO014",
        title: "[IsolateInterface] interfaces cannot be generic",
        messageFormat: "{0}: a generic interface cannot be an [IsolateInterface], since a proxy's type is rebuilt by name in each isolate without type arguments; declare a non-generic interface for each use (IStore<Order> becomes IOrderStore)",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "The generator writes one proxy and one dispatcher per [IsolateInterface]; an open generic interface has no "
            + "fixed argument and result types to encode.",
        helpLinkUri: InterfaceHelpLink);

    /// <summary>ISO015: CreateObjectAsync's type arguments cannot make an object: no proxy for the interface, or no constructible class.</summary>
    public static readonly DiagnosticDescriptor InterfaceImplementation = new(
        id: "ISO015",
        title: "CreateObjectAsync needs an [IsolateInterface] and a class the isolate can construct",
        messageFormat: "{0}: {1}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "CreateObjectAsync<TInterface, TImpl> constructs TImpl inside the isolate and returns a generated proxy of "
            + "TInterface, so TInterface must be marked [IsolateInterface] and TImpl must be a non-abstract class with a public constructor.",
        helpLinkUri: InterfaceHelpLink);

    /// <summary>ISO016: more parameters than a proxy call carries (the object's id takes one of a call's four argument slots).</summary>
    public static readonly DiagnosticDescriptor InterfaceTooManyParameters = new(
        id: "ISO016",
        title: "[IsolateInterface] methods take at most three parameters",
        messageFormat: "{0}: takes {1} parameters (a CancellationToken counts); a proxy call carries at most three, since the object's id takes one of a call's four argument slots: group the values in a [Shareable] record and take that",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "A proxy call is an isolate call whose first argument is the object's id, and an isolate call takes at most four "
            + "arguments, so a method of an [IsolateInterface] takes at most three parameters, its CancellationToken included.",
        helpLinkUri: InterfaceHelpLink);
}
