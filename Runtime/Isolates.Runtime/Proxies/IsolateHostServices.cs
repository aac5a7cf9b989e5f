using System.Collections.Concurrent;
using Isolates.CompilerServices;
using Isolates.Proxies;

namespace Isolates;

/// <summary>
/// Objects of the host that isolate code may call through a proxy (<see cref="Isolate.GetHostService{T}"/>): a database
/// connection pool, a UI dispatcher, a cache, anything that cannot be shared or copied. Each is registered under an
/// <see cref="IsolateInterfaceAttribute"/> interface; give the same instance to as many isolates (or a pool's
/// <see cref="IsolatePoolOptions.IsolateOptions"/>) as you like.
/// </summary>
/// <remarks>
/// A host service stays in the host: calls from isolates run on the host's thread pool, several at a time, in no
/// particular order, so the service must be thread-safe (unlike an object living in an isolate, whose calls run one at
/// a time on its thread). Arguments and results are copied as for any call. It lives as long as the host keeps it;
/// there is nothing to release. Child-process isolates cannot use host services.
/// </remarks>
public sealed class IsolateHostServices
{
    private readonly ConcurrentDictionary<Type, ObjectReference> _services = new();

    // In a child-process isolate: the host's services, known by interface name (the host's types are not here).
    private readonly ConcurrentDictionary<string, ObjectReference> _imported = new(StringComparer.Ordinal);

    /// <summary>The interfaces registered so far.</summary>
    public IReadOnlyCollection<Type> ServiceTypes => [.. _services.Keys];

    /// <summary>Registers <paramref name="service"/> as the host service of interface <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">An interface marked <see cref="IsolateInterfaceAttribute"/>, built with the Isolates source generator.</typeparam>
    /// <param name="service">The host's object; its methods are called on the thread pool.</param>
    /// <returns>This instance, to chain further registrations.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="service"/> is null.</exception>
    /// <exception cref="ArgumentException"><typeparamref name="T"/> is not an [IsolateInterface] interface with a generated proxy,
    /// or a service of that interface is registered already.</exception>
    public IsolateHostServices Add<T>(T service)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(service);
        Type type = typeof(T);
        if (ProxyFactory.TryFor(type, out string? reason) is null)
        {
            throw new ArgumentException($"A host service is registered under an [IsolateInterface] interface: {reason}", nameof(service));
        }

        if (!_services.TryAdd(type, new ObjectReference(service, type)))
        {
            throw new ArgumentException($"A host service of {type} is registered already; an isolate gets one service per interface.", nameof(service));
        }

        return this;
    }

    /// <summary>The references of the services registered here (the host's side).</summary>
    internal IEnumerable<ObjectReference> References => _services.Values;

    /// <summary>In a child-process isolate: a host service of the host, reached over the pipe.</summary>
    internal void AddImported(string interfaceName, ObjectReference reference) => _imported[interfaceName] = reference;

    /// <summary>The reference to the service registered for the host's copy of <paramref name="requested"/> (matched by name and assembly), or null.</summary>
    internal ObjectReference? Find(Type requested)
    {
        if (!_imported.IsEmpty && requested.FullName is { } name && _imported.TryGetValue(name, out ObjectReference? imported))
        {
            return imported;
        }

        if (_services.TryGetValue(requested, out ObjectReference? same))
        {
            return same;
        }

        string? assembly = requested.Assembly.GetName().Name;
        foreach ((Type type, ObjectReference reference) in _services)
        {
            if (type.FullName == requested.FullName && type.Assembly.GetName().Name == assembly)
            {
                return reference;
            }
        }

        return null;
    }
}
