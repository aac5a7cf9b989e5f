using System.ComponentModel;

namespace Isolates.CompilerServices;

/// <summary>
/// What generated dispatcher stubs call to find the object a proxy call is for. For generated code only.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class IsolateObjects
{
    /// <summary>The host service a host call is running on (set by <see cref="Proxies.HostCall"/> around the stub only).</summary>
    [ThreadStatic]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Style", "IDE1006:Naming Styles", Justification = "[ThreadStatic]: t_ prefix")]
    private static object? t_hostTarget;

    /// <summary>
    /// The object with this id in the isolate whose thread runs the stub, or the host service a host call is for.
    /// </summary>
    /// <typeparam name="T">The interface the stub calls.</typeparam>
    /// <param name="id">The id the proxy carries.</param>
    /// <returns>The object.</returns>
    /// <exception cref="IsolateClosedException">The object was released (a call that raced with <see cref="Isolate.ReleaseAsync"/>).</exception>
    public static T Get<T>(long id)
        where T : class
    {
        if (t_hostTarget is { } host)
        {
            t_hostTarget = null; // consumed: whatever the service's own code runs on this thread is not a host call
            return (T)host;
        }

        Isolate isolate = Isolate.OnThisThread
            ?? throw new InvalidOperationException("A generated isolate dispatcher stub was called outside an isolate's thread; only the runtime calls it.");
        return (T)isolate.ObjectFor(id, typeof(T));
    }

    /// <summary>Runs <paramref name="invoke"/> with <paramref name="service"/> as the target of the stub it calls (on this thread only).</summary>
    internal static object? WithHostTarget(object service, Func<object?> invoke)
    {
        object? outer = t_hostTarget;
        t_hostTarget = service;
        try
        {
            return invoke();
        }
        finally
        {
            t_hostTarget = outer;
        }
    }
}
