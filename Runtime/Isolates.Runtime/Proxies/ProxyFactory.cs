using System.Reflection;
using System.Runtime.CompilerServices;
using Isolates.CompilerServices;

namespace Isolates.Proxies;

/// <summary>
/// Builds the generated proxy of one context's copy of an <c>[IsolateInterface]</c> interface around an
/// <see cref="ObjectReference"/>. Found through the <see cref="IsolateProxyAttribute"/> of the interface's own assembly,
/// so each context gets proxies of its own types; cached weakly per interface type, so the cache never keeps an isolate's
/// context alive (the value references only the key's own context).
/// </summary>
internal sealed class ProxyFactory
{
    private static readonly ConditionalWeakTable<Type, ProxyFactory> Cache = new();

    private readonly Func<ObjectReference, object> _create;

    private ProxyFactory(Func<ObjectReference, object> create) => _create = create;

    public object Create(ObjectReference reference) => _create(reference);

    public static bool IsIsolateInterface(Type type) => type.IsInterface && type.IsDefined(typeof(IsolateInterfaceAttribute), inherit: false);

    /// <summary>The factory for <paramref name="interfaceType"/>, or null with the reason it has none.</summary>
    public static ProxyFactory? TryFor(Type interfaceType, out string? reason)
    {
        if (Cache.TryGetValue(interfaceType, out ProxyFactory? cached))
        {
            reason = null;
            return cached;
        }

        ProxyFactory? factory = Build(interfaceType, out reason);
        return factory is null ? null : Cache.GetValue(interfaceType, _ => factory);
    }

    private static ProxyFactory? Build(Type type, out string? reason)
    {
        if (!IsIsolateInterface(type))
        {
            reason = $"{type} is not an interface marked [IsolateInterface]; objects living in an isolate are reached through such an interface, whose proxy the Isolates source generator writes.";
            return null;
        }

        if (type.IsGenericType)
        {
            reason = $"{type} is generic; proxies are generated for non-generic [IsolateInterface] interfaces only. Declare a non-generic interface for each element type.";
            return null;
        }

        foreach (IsolateProxyAttribute registration in type.Assembly.GetCustomAttributes<IsolateProxyAttribute>())
        {
            if (registration.InterfaceType != type)
            {
                continue;
            }

            MethodInfo? create = registration.ProxyType.GetMethod("Create", BindingFlags.Public | BindingFlags.Static, [typeof(ObjectReference)]);
            if (create is null || !typeof(IIsolateProxy).IsAssignableFrom(registration.ProxyType) || !type.IsAssignableFrom(registration.ProxyType))
            {
                reason = $"{registration.ProxyType} is registered as the proxy of {type} but is not a generated proxy; it should only be written by the Isolates source generator.";
                return null;
            }

            reason = null;
            return new ProxyFactory(create.CreateDelegate<Func<ObjectReference, object>>());
        }

        reason = $"{type} is marked [IsolateInterface] but {type.Assembly.GetName().Name} has no generated proxy for it. Build that assembly with the Isolates package's source generator "
            + "(it comes with the package; a project reference to Isolates.Analyzers needs OutputItemType=\"Analyzer\").";
        return null;
    }
}
