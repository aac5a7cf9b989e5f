using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Isolates.Analyzers;

/// <summary>
/// Writes, for every <c>[IsolateInterface]</c> interface, a proxy class (implements the interface; each method hands its
/// arguments to the object's <c>ObjectReference</c>, which makes an ordinary isolate call) and a dispatcher stub (a static
/// method per interface method, taking the object's id: the function that call runs inside the owning isolate, where it
/// finds the object and calls it). Registered with <c>[assembly: IsolateProxy(typeof(I), typeof(Proxy))]</c>, which the
/// runtime reads from each context's own copy of the assembly. No code is emitted at run time.
/// </summary>
/// <remarks>
/// Members a proxy cannot carry (a synchronous method, a property, an event, a generic method, ref/out parameters, more
/// than three parameters) still get an implementation, so the assembly compiles, but it throws
/// <c>NotSupportedException</c> naming the member; the analyzer reports them at build time. Generic interfaces, interfaces
/// generated code cannot name, and interfaces with static abstract members get no proxy: the runtime then says so.
/// </remarks>
[Generator(LanguageNames.CSharp)]
public sealed class IsolateInterfaceGenerator : IIncrementalGenerator
{
    private const string AttributeName = "Isolates.IsolateInterfaceAttribute";
    private const string ReferenceName = "Isolates.CompilerServices.ObjectReference";
    private const string Services = "global::Isolates.CompilerServices.";

    /// <summary>The most parameters an interface method may have (the call path carries four arguments; the id is one).</summary>
    private const int MaxParameters = 3;

    private static readonly SymbolDisplayFormat Qualified = SymbolDisplayFormat.FullyQualifiedFormat.WithMiscellaneousOptions(
        SymbolDisplayMiscellaneousOptions.EscapeKeywordIdentifiers | SymbolDisplayMiscellaneousOptions.UseSpecialTypes);

    /// <inheritdoc />
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        IncrementalValueProvider<bool> supported = context.CompilationProvider.Select(static (compilation, _) =>
            compilation.GetTypeByMetadataName(ReferenceName) is not null);

        IncrementalValuesProvider<GeneratedProxy> proxies = context.SyntaxProvider.ForAttributeWithMetadataName(
            AttributeName,
            static (node, _) => node is InterfaceDeclarationSyntax,
            static (attributed, cancellationToken) => Create((INamedTypeSymbol)attributed.TargetSymbol, cancellationToken));

        context.RegisterSourceOutput(proxies.Combine(supported), static (output, pair) =>
        {
            (GeneratedProxy proxy, bool isSupported) = pair;
            if (isSupported && proxy.Source is { } source)
            {
                output.AddSource(proxy.HintName, source);
            }
        });
    }

    private static GeneratedProxy Create(INamedTypeSymbol type, CancellationToken cancellationToken)
    {
        string flat = FlatName(SymbolNames.MetadataName(type));
        string hint = flat + ".IsolateProxy.g.cs";
        if (type.TypeKind != TypeKind.Interface || type.IsGenericType || !IsNameable(type) || HasGenericContainer(type))
        {
            return new GeneratedProxy(hint, null);
        }

        var members = new List<ISymbol>();
        foreach (INamedTypeSymbol declaring in new[] { type }.Concat(type.AllInterfaces))
        {
            foreach (ISymbol member in declaring.GetMembers())
            {
                if (member.IsStatic && member.IsAbstract)
                {
                    return new GeneratedProxy(hint, null); // a class cannot stand in for static abstract members
                }

                if (member.IsAbstract && member is IMethodSymbol { MethodKind: MethodKind.Ordinary } or IPropertySymbol or IEventSymbol)
                {
                    members.Add(member);
                }
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        return new GeneratedProxy(hint, Emit(type, flat, members));
    }

    private static string Emit(INamedTypeSymbol type, string flat, List<ISymbol> members)
    {
        string typeName = type.ToDisplayString(Qualified);
        string proxyName = flat + "_IsolateProxy";
        string dispatcherName = flat + "_IsolateDispatcher";
        string display = type.ToDisplayString(SymbolNames.Display);
        var proxy = new StringBuilder();
        var dispatcher = new StringBuilder();
        // Stub names: the method's own name when it is the only member so named, else name_index; either may be taken by
        // another member (GoAsync_1 next to overloads of GoAsync), so a name is only used once, whatever it is.
        var names = new HashSet<string>(members.Select(m => m.Name), StringComparer.Ordinal);
        var stubs = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < members.Count; i++)
        {
            ISymbol member = members[i];
            string declaring = member.ContainingType.ToDisplayString(Qualified);
            if (member is IMethodSymbol method && Unsupported(method) is null)
            {
                string stub = members.Count(m => m.Name == method.Name) == 1 ? method.Name : method.Name + "_" + i;
                while (!stubs.Add(stub) || (stub != method.Name && names.Contains(stub)))
                {
                    stub += "_";
                }

                EmitMethod(proxy, dispatcher, method, declaring, typeName, dispatcherName, stub);
            }
            else
            {
                string reason = member is IMethodSymbol unsupported ? Unsupported(unsupported)! : member is IPropertySymbol ? "it is a property" : "it is an event";
                EmitRefusal(proxy, member, declaring, $"{display}.{member.Name} cannot be called through an isolate proxy: {reason}. "
                    + "An [IsolateInterface] method returns Task, Task<T>, ValueTask or ValueTask<T> and takes at most 3 parameters (a CancellationToken included), passed by value.");
            }
        }

        var source = new StringBuilder();
        source.Append("// <auto-generated/>\n")
            .Append("// The Isolates source generator: the isolate proxy and dispatcher stub of ").Append(display).Append(".\n")
            .Append("#nullable disable\n\n")
            .Append("[assembly: ").Append(Services).Append("IsolateProxyAttribute(typeof(").Append(typeName)
            .Append("), typeof(global::Isolates.Generated.").Append(proxyName).Append("))]\n\n")
            .Append("namespace Isolates.Generated\n{\n")
            .Append("    /// <summary>Calls a ").Append(Escape(display)).Append(" living in an isolate (or in the host) through the isolate's call path.</summary>\n")
            .Append("    [global::System.ComponentModel.EditorBrowsable(global::System.ComponentModel.EditorBrowsableState.Never)]\n")
            .Append("    [global::System.CodeDom.Compiler.GeneratedCode(\"Isolates.Analyzers\", \"1.0\")]\n")
            .Append("    internal sealed class ").Append(proxyName).Append(" : ").Append(typeName).Append(", ").Append(Services).Append("IIsolateProxy\n    {\n")
            .Append("        private readonly ").Append(Services).Append("ObjectReference _reference;\n\n")
            .Append("        private ").Append(proxyName).Append("(").Append(Services).Append("ObjectReference reference)\n        {\n            _reference = reference;\n        }\n\n")
            .Append("        ").Append(Services).Append("ObjectReference ").Append(Services).Append("IIsolateProxy.Reference => _reference;\n\n")
            .Append("        public static object Create(").Append(Services).Append("ObjectReference reference) => new ").Append(proxyName).Append("(reference);\n\n")
            .Append("        public override string ToString() => _reference.Description;\n\n")
            .Append("        public override bool Equals(object obj) => obj is ").Append(Services).Append("IIsolateProxy other && object.ReferenceEquals(other.Reference, _reference);\n\n")
            .Append("        public override int GetHashCode() => global::System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(_reference);\n")
            .Append(proxy)
            .Append("    }\n\n")
            .Append("    /// <summary>Runs inside the object's isolate: finds the object by id and calls it.</summary>\n")
            .Append("    [global::System.ComponentModel.EditorBrowsable(global::System.ComponentModel.EditorBrowsableState.Never)]\n")
            .Append("    [global::System.CodeDom.Compiler.GeneratedCode(\"Isolates.Analyzers\", \"1.0\")]\n")
            .Append("    internal static class ").Append(dispatcherName).Append("\n    {\n")
            .Append(dispatcher)
            .Append("    }\n}\n");
        return source.ToString();
    }

    private static void EmitMethod(StringBuilder proxy, StringBuilder dispatcher, IMethodSymbol method, string declaring, string typeName, string dispatcherName, string stub)
    {
        string returnType = method.ReturnType.ToDisplayString(Qualified);
        string parameters = string.Join(", ", method.Parameters.Select(p => p.Type.ToDisplayString(Qualified) + " @" + p.Name));
        string arguments = string.Join(", ", method.Parameters.Select(p => "@" + p.Name));
        string? token = method.Parameters.FirstOrDefault(p => IsCancellationToken(p.Type))?.Name;

        var typeArguments = method.Parameters.Select(p => p.Type.ToDisplayString(Qualified)).ToList();
        string definition = ((INamedTypeSymbol)method.ReturnType).OriginalDefinition.ToDisplayString(SymbolNames.Display);
        bool valueTask = definition.StartsWith("System.Threading.Tasks.ValueTask", StringComparison.Ordinal);
        string? result = ((INamedTypeSymbol)method.ReturnType).TypeArguments.FirstOrDefault()?.ToDisplayString(Qualified);
        if (result is not null)
        {
            typeArguments.Add(result);
        }

        // The stub: the function the isolate call runs, on the object's isolate thread. A value task is handed over as a
        // task (AsTask is free for one already completed with no result, and a call awaits a task without reflection).
        // The id's parameter name must not be one of the method's own.
        string id = "__objectId";
        while (method.Parameters.Any(p => p.Name == id))
        {
            id += "_";
        }

        string stubReturn = result is null ? "global::System.Threading.Tasks.Task" : "global::System.Threading.Tasks.Task<" + result + ">";
        dispatcher.Append("        public static ").Append(stubReturn).Append(' ').Append(stub).Append("(long ").Append(id)
            .Append(parameters.Length > 0 ? ", " + parameters : string.Empty).Append(") =>\n            ((").Append(declaring).Append(')')
            .Append(Services).Append("IsolateObjects.Get<").Append(typeName).Append(">(").Append(id).Append(")).@").Append(method.Name).Append('(').Append(arguments).Append(')')
            .Append(valueTask ? ".AsTask()" : string.Empty).Append(";\n\n");

        string call = "this._reference." + (result is null ? "CallVoidAsync" : "CallAsync") + (typeArguments.Count > 0 ? "<" + string.Join(", ", typeArguments) + ">" : string.Empty)
            + "(global::Isolates.Generated." + dispatcherName + "." + stub + (arguments.Length > 0 ? ", " + arguments : string.Empty)
            + ", " + (token is null ? "default" : "@" + token) + ")";
        if (valueTask)
        {
            call = "new " + returnType + "(" + call + ")";
        }

        proxy.Append('\n').Append("        ").Append(returnType).Append(' ').Append(declaring).Append(".@").Append(method.Name).Append('(').Append(parameters).Append(") =>\n")
            .Append("            ").Append(call).Append(";\n");
    }

    private static void EmitRefusal(StringBuilder proxy, ISymbol member, string declaring, string message)
    {
        string thrown = "throw new global::System.NotSupportedException(\"" + message.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\")";
        proxy.Append('\n');
        switch (member)
        {
            case IMethodSymbol method:
                string typeParameters = method.TypeParameters.Length > 0 ? "<" + string.Join(", ", method.TypeParameters.Select(t => t.Name)) + ">" : string.Empty;
                string parameters = string.Join(", ", method.Parameters.Select(p => RefKind(p) + p.Type.ToDisplayString(Qualified) + " @" + p.Name));
                proxy.Append("        ").Append(method.ReturnsVoid ? "void" : (method.ReturnsByRef ? "ref " : method.ReturnsByRefReadonly ? "ref readonly " : string.Empty) + method.ReturnType.ToDisplayString(Qualified))
                    .Append(' ').Append(declaring).Append(".@").Append(method.Name).Append(typeParameters).Append('(').Append(parameters).Append(") => ").Append(thrown).Append(";\n");
                break;
            case IPropertySymbol property:
                string name = property.IsIndexer
                    ? "this[" + string.Join(", ", property.Parameters.Select(p => RefKind(p) + p.Type.ToDisplayString(Qualified) + " @" + p.Name)) + "]"
                    : "@" + property.Name;
                proxy.Append("        ").Append(property.ReturnsByRef ? "ref " : property.ReturnsByRefReadonly ? "ref readonly " : string.Empty).Append(property.Type.ToDisplayString(Qualified)).Append(' ').Append(declaring).Append('.').Append(name).Append("\n        {\n");
                if (property.GetMethod is not null)
                {
                    proxy.Append("            get => ").Append(thrown).Append(";\n");
                }

                if (property.SetMethod is not null)
                {
                    proxy.Append("            ").Append(property.SetMethod.IsInitOnly ? "init" : "set").Append(" => ").Append(thrown).Append(";\n");
                }

                proxy.Append("        }\n");
                break;
            case IEventSymbol @event:
                proxy.Append("        event ").Append(@event.Type.ToDisplayString(Qualified)).Append(' ').Append(declaring).Append(".@").Append(@event.Name)
                    .Append("\n        {\n            add => ").Append(thrown).Append(";\n            remove => ").Append(thrown).Append(";\n        }\n");
                break;
        }
    }

    /// <summary>Why the proxy cannot carry <paramref name="method"/>, or null when it can.</summary>
    private static string? Unsupported(IMethodSymbol method)
    {
        if (method.IsGenericMethod)
        {
            return "it is generic";
        }

        if (method.Parameters.Any(p => p.RefKind != Microsoft.CodeAnalysis.RefKind.None))
        {
            return "a parameter is passed by reference (ref, out or in)";
        }

        if (method.Parameters.Length > MaxParameters)
        {
            return $"it has {method.Parameters.Length} parameters";
        }

        if (method.ReturnType is INamedTypeSymbol { IsGenericType: true } sequence
            && sequence.OriginalDefinition.ToDisplayString(SymbolNames.Display) == "System.Collections.Generic.IAsyncEnumerable<T>")
        {
            return "it returns IAsyncEnumerable<T>, which proxies do not carry; return Task<ChannelReader<T>> from a channel made with IsolateChannel instead (channels cross isolates, with back-pressure)";
        }

        if (method.ReturnType is not INamedTypeSymbol returned
            || returned.OriginalDefinition.ToDisplayString(SymbolNames.Display) is not ("System.Threading.Tasks.Task" or "System.Threading.Tasks.ValueTask" or "System.Threading.Tasks.Task<TResult>" or "System.Threading.Tasks.ValueTask<TResult>"))
        {
            return "it does not return a Task or ValueTask (a call to another isolate cannot be synchronous)";
        }

        return method.Parameters.Any(p => p.Type.TypeKind is TypeKind.Pointer or TypeKind.FunctionPointer || p.Type.IsRefLikeType)
            ? "a parameter is a pointer or ref struct"
            : null;
    }

    /// <summary>
    /// The interface's metadata name as one identifier (Shop.IInventory: Shop_IInventory). Separators become '_', so a
    /// name that has '_' of its own could meet another's (A_B.IX and A.B_IX): those get a stable hash of the full name.
    /// </summary>
    private static string FlatName(string metadataName)
    {
        string flat = metadataName.Replace('.', '_').Replace('+', '_').Replace('`', '_');
        if (metadataName.IndexOf('_') < 0)
        {
            return flat;
        }

        uint hash = 2166136261; // FNV-1a: the same in every build, unlike string.GetHashCode
        foreach (char c in metadataName)
        {
            hash = (hash ^ c) * 16777619;
        }

        return flat + "_" + hash.ToString("x8", System.Globalization.CultureInfo.InvariantCulture);
    }

    private static bool IsCancellationToken(ITypeSymbol type) =>
        type is INamedTypeSymbol named && SymbolNames.MetadataName(named) == "System.Threading.CancellationToken";

    private static string RefKind(IParameterSymbol parameter) => parameter.RefKind switch
    {
        Microsoft.CodeAnalysis.RefKind.Ref => "ref ",
        Microsoft.CodeAnalysis.RefKind.Out => "out ",
        Microsoft.CodeAnalysis.RefKind.In => "in ",
        _ => string.Empty,
    };

    /// <summary>Whether generated code in the same assembly can name the type (no private or protected level on the way).</summary>
    private static bool IsNameable(INamedTypeSymbol type)
    {
        for (INamedTypeSymbol? t = type; t is not null; t = t.ContainingType)
        {
            if (t.DeclaredAccessibility is Accessibility.Private or Accessibility.Protected or Accessibility.ProtectedAndInternal)
            {
                return false;
            }
        }

        return true;
    }

    private static bool HasGenericContainer(INamedTypeSymbol type)
    {
        for (INamedTypeSymbol? t = type.ContainingType; t is not null; t = t.ContainingType)
        {
            if (t.IsGenericType)
            {
                return true;
            }
        }

        return false;
    }

    private static string Escape(string text) => text.Replace("<", "&lt;").Replace(">", "&gt;");
}

/// <summary>The generator's result for one interface: a source file, or nothing (the interface cannot get a proxy).</summary>
internal sealed class GeneratedProxy : IEquatable<GeneratedProxy>
{
    public GeneratedProxy(string hintName, string? source)
    {
        HintName = hintName;
        Source = source;
    }

    public string HintName { get; }

    public string? Source { get; }

    public bool Equals(GeneratedProxy? other) => other is not null && HintName == other.HintName && Source == other.Source;

    public override bool Equals(object? obj) => Equals(obj as GeneratedProxy);

    public override int GetHashCode() => (HintName.GetHashCode() * 31) + (Source?.GetHashCode() ?? 0);
}
