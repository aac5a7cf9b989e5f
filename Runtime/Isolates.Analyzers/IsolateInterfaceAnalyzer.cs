using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace Isolates.Analyzers;

/// <summary>
/// Checks interfaces marked <c>[Isolates.IsolateInterface]</c>, whose generated proxy forwards each call to the isolate
/// that owns the object: only methods returning a task (ISO007, ISO008), not generic (ISO009, ISO014), parameters by
/// value (ISO010) of shareable types with at most one CancellationToken (ISO011, ISO012), at most three of them (ISO016), and no unchecked inherited
/// members (ISO013). Also checks the type arguments of <c>CreateObjectAsync&lt;TInterface, TImpl&gt;</c> (ISO015).
/// What is shareable is decided by <see cref="ShareableTypes"/>, the same rules as for [Shareable] members.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class IsolateInterfaceAnalyzer : DiagnosticAnalyzer
{
    private const string CancellationTokenName = "System.Threading.CancellationToken";
    private const string CreateObjectMethod = "CreateObjectAsync";

    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(
            Descriptors.InterfaceMethodNotAsync, Descriptors.InterfaceMemberNotMethod, Descriptors.InterfaceGenericMethod,
            Descriptors.InterfaceByRefParameter, Descriptors.InterfaceNotShareable, Descriptors.InterfaceSecondCancellationToken,
            Descriptors.InterfaceInheritsUnchecked, Descriptors.InterfaceGeneric, Descriptors.InterfaceImplementation,
            Descriptors.InterfaceTooManyParameters);

    /// <inheritdoc />
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.Analyze | GeneratedCodeAnalysisFlags.ReportDiagnostics);
        context.EnableConcurrentExecution();
        context.RegisterSymbolAction(AnalyzeInterface, SymbolKind.NamedType);
        context.RegisterOperationAction(AnalyzeCreateObject, OperationKind.Invocation);
    }

    /// <summary>
    /// Whether a method may return <c>IAsyncEnumerable&lt;T&gt;</c>, its items streamed back to the caller. The generated
    /// proxy does not carry it (a <c>ChannelReader&lt;T&gt;</c> result streams with back-pressure instead), so it is
    /// refused with ISO007; the message's advice follows this too.
    /// </summary>
    internal static bool AllowsAsyncEnumerableResults => false;

    /// <summary>A proxy call's arguments: the object's id takes one of an isolate call's four slots (IsolateInterfaceGenerator.MaxParameters).</summary>
    private const int MaxParameters = 3;

    private static void AnalyzeInterface(SymbolAnalysisContext context)
    {
        var type = (INamedTypeSymbol)context.Symbol;
        if (type.TypeKind != TypeKind.Interface || !IsIsolateInterface(type))
        {
            return;
        }

        if (IsGeneric(type))
        {
            context.ReportDiagnostic(Diagnostic.Create(Descriptors.InterfaceGeneric, Location(type), type.Name));
        }

        foreach (ISymbol member in type.GetMembers())
        {
            if (IsCalledThroughProxy(member))
            {
                CheckMember(context, type, member);
            }
        }

        // Bases marked [IsolateInterface] are checked where they are declared; any other base's members are not, and
        // the proxy implements them too.
        foreach (INamedTypeSymbol inherited in type.AllInterfaces)
        {
            if (IsIsolateInterface(inherited))
            {
                continue;
            }

            foreach (ISymbol member in inherited.GetMembers())
            {
                if (IsCalledThroughProxy(member))
                {
                    context.ReportDiagnostic(Diagnostic.Create(
                        Descriptors.InterfaceInheritsUnchecked, Location(type), type.Name,
                        inherited.Name + "." + member.Name, inherited.ToDisplayString(SymbolNames.Display)));
                }
            }
        }
    }

    /// <summary>
    /// The members a proxy must implement: abstract or virtual (a default implementation) instance members, and
    /// static abstract ones. Static members with a body (static virtual too), private and sealed members run where
    /// they are called and never cross; accessors are checked through their property or event.
    /// </summary>
    private static bool IsCalledThroughProxy(ISymbol member)
    {
        if (member is IMethodSymbol method && method.MethodKind != MethodKind.Ordinary && method.MethodKind != MethodKind.UserDefinedOperator
            && method.MethodKind != MethodKind.Conversion)
        {
            return false;
        }

        return member is IMethodSymbol or IPropertySymbol or IEventSymbol && (member.IsAbstract || (member.IsVirtual && !member.IsStatic));
    }

    private static void CheckMember(SymbolAnalysisContext context, INamedTypeSymbol type, ISymbol member)
    {
        string path = type.Name + "." + member.Name;
        if (member.IsStatic)
        {
            // Also makes the interface unusable as a type argument (CS8920), so CreateObjectAsync could not name it.
            Report(context, Descriptors.InterfaceMemberNotMethod, member, path, "a static abstract member",
                "it belongs to no object; make it an instance method returning a task, or give it a body");
            return;
        }

        switch (member)
        {
            case IPropertySymbol { IsIndexer: true } indexer:
                Report(context, Descriptors.InterfaceMemberNotMethod, indexer, type.Name + ".this[]", "an indexer",
                    "declare a method such as Task<T> GetAsync(key) instead");
                return;
            case IPropertySymbol property:
                Report(context, Descriptors.InterfaceMemberNotMethod, property, path, "a property",
                    $"declare a method such as Task<{property.Type.ToDisplayString(SymbolNames.Display)}> Get{property.Name}Async() instead");
                return;
            case IEventSymbol @event:
                Report(context, Descriptors.InterfaceMemberNotMethod, @event, path, "an event",
                    "a delegate cannot cross isolates; pass a ChannelWriter<T> to a method and write the notifications to it, "
                    + "or pass a proxy of an [IsolateInterface] the subscriber implements");
                return;
            case IMethodSymbol method:
                CheckMethod(context, method, path);
                return;
        }
    }

    private static void CheckMethod(SymbolAnalysisContext context, IMethodSymbol method, string path)
    {
        if (method.IsGenericMethod)
        {
            Report(context, Descriptors.InterfaceGenericMethod, method, path);
        }

        if (ResultType(method.ReturnType, out ITypeSymbol? result) is false)
        {
            Report(context, Descriptors.InterfaceMethodNotAsync, method, path,
                method.ReturnsVoid ? "void" : method.ReturnType.ToDisplayString(SymbolNames.Display), AsyncAlternatives(method.ReturnType));
        }
        else if (result is not null)
        {
            CheckShareable(context, method, path, result, "result");
        }

        if (method.Parameters.Length > MaxParameters)
        {
            Report(context, Descriptors.InterfaceTooManyParameters, method, path, method.Parameters.Length);
        }

        bool seenToken = false;
        foreach (IParameterSymbol parameter in method.Parameters)
        {
            if (parameter.RefKind != RefKind.None)
            {
                Report(context, Descriptors.InterfaceByRefParameter, parameter, path, parameter.Name, RefKindText(parameter.RefKind));
                continue;
            }

            if (parameter.Type is INamedTypeSymbol named && SymbolNames.MetadataName(named) == CancellationTokenName)
            {
                if (seenToken)
                {
                    Report(context, Descriptors.InterfaceSecondCancellationToken, parameter, path, parameter.Name);
                }

                seenToken = true;
                continue;
            }

            CheckShareable(context, parameter, path, parameter.Type, "parameter " + parameter.Name);
        }
    }

    /// <summary>
    /// Whether the return type is one a proxy can return, and the type of the value that crosses back (null for Task
    /// and ValueTask). Null when the type is the compiler's error.
    /// </summary>
    private static bool? ResultType(ITypeSymbol returnType, out ITypeSymbol? result)
    {
        result = null;
        if (returnType.TypeKind == TypeKind.Error)
        {
            return null;
        }

        if (returnType is not INamedTypeSymbol named)
        {
            return false;
        }

        switch (SymbolNames.MetadataName(named))
        {
            case "System.Threading.Tasks.Task":
            case "System.Threading.Tasks.ValueTask":
                return true;
            case "System.Threading.Tasks.Task`1":
            case "System.Threading.Tasks.ValueTask`1":
                result = named.TypeArguments[0];
                return true;
            case "System.Collections.Generic.IAsyncEnumerable`1" when AllowsAsyncEnumerableResults:
                result = named.TypeArguments[0];
                return true;
            default:
                return false;
        }
    }

    private static string AsyncAlternatives(ITypeSymbol returnType)
    {
        string stream = AllowsAsyncEnumerableResults ? ", or IAsyncEnumerable<T> to stream items" : "";
        if (returnType is INamedTypeSymbol { IsGenericType: true } sequence && SymbolNames.MetadataName(sequence) == "System.Collections.Generic.IAsyncEnumerable`1")
        {
            string item = sequence.TypeArguments[0].ToDisplayString(SymbolNames.Display);
            return $"Task<ChannelReader<{item}>> to stream items (make the channel with IsolateChannel: it crosses isolates with back-pressure)";
        }

        if (returnType.SpecialType == SpecialType.System_Void)
        {
            return "Task or ValueTask" + stream;
        }

        string shown = returnType.ToDisplayString(SymbolNames.Display);
        return $"Task<{shown}> or ValueTask<{shown}>" + stream;
    }

    private static void CheckShareable(SymbolAnalysisContext context, ISymbol at, string path, ITypeSymbol type, string what)
    {
        // A method's type parameter is reported as ISO009 already; the interface's as ISO014.
        if (!ShareableTypes.IsShareable(type, what, out ITypeSymbol failingType, out string failingPath)
            && failingType.TypeKind != TypeKind.TypeParameter)
        {
            Report(context, Descriptors.InterfaceNotShareable, at, path, failingPath,
                failingType.ToDisplayString(SymbolNames.Display), Advice.For(failingType, isMember: false));
        }
    }

    private static string RefKindText(RefKind kind) => kind switch
    {
        RefKind.Ref => "by ref",
        RefKind.Out => "as out",
        RefKind.In => "as in",
        _ => "by reference",
    };

    /// <summary>ISO015: CreateObjectAsync&lt;TInterface, TImpl&gt; from the Isolates namespace, called with types it cannot use.</summary>
    private static void AnalyzeCreateObject(OperationAnalysisContext context)
    {
        IMethodSymbol method = ((IInvocationOperation)context.Operation).TargetMethod;
        if (method.Name != CreateObjectMethod || method.TypeArguments.Length != 2 || !InIsolatesNamespace(method.ContainingType))
        {
            return;
        }

        ITypeSymbol contract = method.TypeArguments[0];
        ITypeSymbol implementation = method.TypeArguments[1];
        string call = $"{CreateObjectMethod}<{contract.ToDisplayString(SymbolNames.Display)}, {implementation.ToDisplayString(SymbolNames.Display)}>";
        Location location = context.Operation.Syntax.GetLocation();

        // A type parameter is decided where the generic code is used; the runtime checks it then.
        if (contract is INamedTypeSymbol { TypeKind: TypeKind.Interface } named && !IsIsolateInterface(named))
        {
            context.ReportDiagnostic(Diagnostic.Create(Descriptors.InterfaceImplementation, location, call,
                $"{named.Name} is not marked [IsolateInterface], so no proxy is generated for it; mark it [IsolateInterface]"));
        }

        if (implementation is INamedTypeSymbol impl && ImplementationProblem(impl) is { } problem)
        {
            context.ReportDiagnostic(Diagnostic.Create(Descriptors.InterfaceImplementation, location, call, problem));
        }
    }

    private static string? ImplementationProblem(INamedTypeSymbol impl)
    {
        if (impl.TypeKind == TypeKind.Error)
        {
            return null;
        }

        if (impl.TypeKind != TypeKind.Class)
        {
            return $"{impl.Name} is not a class; the object lives in the isolate and is called by reference, so implement the interface with a class";
        }

        if (impl.IsAbstract || impl.IsStatic)
        {
            return $"{impl.Name} is {(impl.IsStatic ? "static" : "abstract")} and cannot be constructed; pass a concrete class";
        }

        foreach (IMethodSymbol constructor in impl.InstanceConstructors)
        {
            if (constructor.DeclaredAccessibility == Accessibility.Public)
            {
                return null;
            }
        }

        return $"{impl.Name} has no public constructor for the isolate to call; add one (its arguments must be shareable)";
    }

    private static bool InIsolatesNamespace(INamedTypeSymbol? type)
    {
        for (; type?.ContainingType is not null; type = type.ContainingType)
        {
        }

        return type?.ContainingNamespace is { Name: "Isolates" } ns && ns.ContainingNamespace.IsGlobalNamespace;
    }

    private static bool IsIsolateInterface(INamedTypeSymbol type) => SymbolNames.HasAttribute(type, ShareableTypes.IsolateInterfaceAttribute);

    private static bool IsGeneric(INamedTypeSymbol type)
    {
        for (INamedTypeSymbol? current = type; current is not null; current = current.ContainingType)
        {
            if (current.TypeParameters.Length > 0)
            {
                return true;
            }
        }

        return false;
    }

    private static void Report(SymbolAnalysisContext context, DiagnosticDescriptor descriptor, ISymbol at, params object[] arguments) =>
        context.ReportDiagnostic(Diagnostic.Create(descriptor, Location(at), arguments));

    private static Location Location(ISymbol symbol) =>
        symbol.Locations.Length > 0 ? symbol.Locations[0] : Microsoft.CodeAnalysis.Location.None;
}
