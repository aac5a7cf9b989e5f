using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using Isolates.Calls;
using Isolates.Diagnostics;
using Isolates.Proxies;

namespace Isolates.CompilerServices;

/// <summary>
/// A reference to one object living in an isolate (or to a host service): the one object every proxy of it in this
/// process holds, whatever context the proxy was built in. It crosses isolates by reference, as an attachment beside
/// the bytes, like a channel's core. For generated code only.
/// </summary>
/// <remarks>
/// It lives in the runtime's (default) context and holds no type of any isolate (the interface only by name), so a
/// proxy kept by one isolate never pins another. When no proxy anywhere references it any more, its finalizer releases
/// the object in its isolate.
/// </remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed partial class ObjectReference
{
    private readonly Isolate? _owner;
    private readonly string _interfaceName;
    private readonly object? _host;
    private readonly ObjectRoute? _route;
    private readonly string? _description;
    private int _released;
    private int _dispatching;
    private TaskCompletionSource? _releasing;

    /// <summary>An object living in <paramref name="owner"/>'s object table under <paramref name="id"/>.</summary>
    internal ObjectReference(Isolate owner, long id, string interfaceName)
    {
        _owner = owner;
        Id = id;
        _interfaceName = interfaceName;
    }

    /// <summary>
    /// An object living in a child-process isolate's table that the child sent here (<paramref name="imported"/> counts
    /// it): calls go to the child as for any object there, but when this reference is collected the child is told it
    /// was let go of here, instead of the object being released (the child may still reference it).
    /// </summary>
    internal ObjectReference(Isolate owner, long id, string interfaceName, IImported imported)
        : this(owner, id, interfaceName)
    {
        RouteState = imported;
    }

    /// <summary>A host service: an object of the host's, called on the host's thread pool.</summary>
    internal ObjectReference(object hostService, Type hostInterface)
    {
        _host = hostService;
        _route = HostServiceRoute.Instance;
        HostInterface = hostInterface;
        _interfaceName = hostInterface.FullName ?? hostInterface.Name;
        HostTargets = new ConcurrentDictionary<int, HostTarget>();
        GC.SuppressFinalize(this); // a host service lives as long as the host keeps it
    }

    /// <summary>
    /// An object of another process reached through <paramref name="route"/> (an object of the host, from a child
    /// process): <paramref name="id"/> is what the route knows it by, <paramref name="description"/> what it is there.
    /// </summary>
    internal ObjectReference(ObjectRoute route, long id, string interfaceName, string description, object? routeState)
    {
        _route = route;
        Id = id;
        _interfaceName = interfaceName;
        _description = description;
        RouteState = routeState;
    }

    /// <summary>Releases the object in its isolate once no proxy references it (and it was not released explicitly).</summary>
    ~ObjectReference()
    {
        try
        {
            if (RouteState is IImported imported)
            {
                imported.Unreferenced(this); // another process's object: that process is told this one let go of it
            }
            else if (_owner is { } owner && Volatile.Read(ref _released) == 0)
            {
                owner.ReleaseUnreferenced(Id, _interfaceName);
            }
        }
        catch (Exception)
        {
            // An exception escaping a finalizer ends the process; the object then stays until its isolate closes.
        }
    }

    /// <summary>The object's id in its isolate's table (0 for a host service; its route's id for an object of another process).</summary>
    internal long Id { get; }

    /// <summary>The isolate the object lives in; null for a host service or an object of another process.</summary>
    internal Isolate? Owner => _owner;

    /// <summary>Where calls go when the object is not in an isolate of this process; null when it is.</summary>
    internal ObjectRoute? Route => _route;

    /// <summary>What the route keeps for this reference (a child's import entry).</summary>
    internal object? RouteState { get; }

    /// <summary>The count another process keeps for a reference it sent here (see <see cref="Processes.ChildObjects"/>).</summary>
    internal interface IImported
    {
        /// <summary>From the reference's finalizer: nothing in this process references it any more.</summary>
        void Unreferenced(ObjectReference reference);
    }

    /// <summary>The full name of the interface the object was created or registered under.</summary>
    internal string InterfaceName => _interfaceName;

    /// <summary>The host service object; null for an object in an isolate.</summary>
    internal object? HostService => _host;

    /// <summary>The host's copy of the interface (host services only).</summary>
    internal Type? HostInterface { get; }

    /// <summary>The host-side stubs of a host service, by the stub's metadata token (host services only).</summary>
    internal ConcurrentDictionary<int, HostTarget>? HostTargets { get; }

    internal bool IsReleased => Volatile.Read(ref _released) != 0;

    /// <summary>What the object is, for messages: its id, interface and isolate.</summary>
    public string Description => _owner is { } owner
        ? $"Object {Id} ({_interfaceName}) in isolate '{owner.Name}' ({owner.Id})"
        : _description ?? $"Host service {_interfaceName}";

    /// <inheritdoc />
    public override string ToString() => Description;

    /// <summary>
    /// Starts releasing the object, once: true for the first caller, who must complete <paramref name="releasing"/> when
    /// the object is gone; every later caller gets the same completion, so no release reports the object gone before it is.
    /// </summary>
    internal bool TryBeginRelease(out TaskCompletionSource releasing)
    {
        var mine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        releasing = Interlocked.CompareExchange(ref _releasing, mine, null) ?? mine;
        if (releasing != mine)
        {
            return false;
        }

        bool first = MarkReleased();
        Debug.Assert(first, "only TryBeginRelease marks a reference released");
        return true;
    }

    /// <summary>
    /// Marks the reference released (once; false if it already was) and waits for calls that passed the check before it
    /// to be queued (a spin of an enqueue's length): the release, queued next, then runs after every call made before it,
    /// and no call made after it is queued. (A call that waits for room under <see cref="IsolateOptions.MaxQueuedCalls"/>
    /// is queued later and fails inside the isolate, as <see cref="IsolateExecutionException"/> of an IsolateClosedException.)
    /// </summary>
    private bool MarkReleased()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
        {
            return false;
        }

        if (RouteState is not IImported)
        {
            GC.SuppressFinalize(this); // a counted reference keeps its finalizer: it reports the drop (it releases nothing)
        }

        SpinWait spin = default;
        while (Volatile.Read(ref _dispatching) != 0)
        {
            spin.SpinOnce();
        }

        return true;
    }

    /// <summary>Why a call cannot be made now (released, or the isolate is gone), naming the object; null when it can.</summary>
    internal IsolateClosedException? Refusal()
    {
        if (_owner is not { } owner)
        {
            return null;
        }

        if (Volatile.Read(ref _released) != 0)
        {
            return new IsolateClosedException(owner.Id, owner.Name,
                $"{Description} was released (Isolate.ReleaseAsync) before the call was made; create a new object to go on.") { NotStarted = true };
        }

        IsolateState state = owner.State;
        if (state is IsolateState.Closing or IsolateState.Closed or IsolateState.Faulted)
        {
            return new IsolateClosedException(owner.Id, owner.Name,
                $"{Description} is gone: its isolate was {(state == IsolateState.Faulted ? "faulted" : "closed")} before the call was made.") { NotStarted = true };
        }

        Interleave.Point("proxy.call.checked"); // a release may come now: it must still be queued after this call
        return null;
    }
}
