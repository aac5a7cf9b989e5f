using System.ComponentModel;

namespace Isolates.CompilerServices;

/// <summary>
/// Registers the generated proxy of an <see cref="IsolateInterfaceAttribute"/> interface; the Isolates source generator
/// adds one per interface to the interface's assembly. For generated code only. The runtime reads these attributes from
/// each context's own copy of the assembly (and caches what it found per type, weakly), so every isolate builds proxies
/// of its own copy of the interface and nothing in the runtime keeps an isolate's types alive.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
public sealed class IsolateProxyAttribute : Attribute
{
    /// <summary>Registers <paramref name="proxyType"/> as the proxy of <paramref name="interfaceType"/>.</summary>
    /// <param name="interfaceType">The <c>[IsolateInterface]</c> interface.</param>
    /// <param name="proxyType">A class implementing it and <see cref="IIsolateProxy"/>, with a static <c>Create(ObjectReference)</c> method.</param>
    public IsolateProxyAttribute(Type interfaceType, Type proxyType)
    {
        InterfaceType = interfaceType;
        ProxyType = proxyType;
    }

    /// <summary>The <c>[IsolateInterface]</c> interface.</summary>
    public Type InterfaceType { get; }

    /// <summary>The generated proxy class.</summary>
    public Type ProxyType { get; }
}

/// <summary>Implemented by generated proxies: the reference to the object they call. For generated code only.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public interface IIsolateProxy
{
    /// <summary>The reference shared by every proxy of the same object in this process.</summary>
    ObjectReference Reference { get; }
}
