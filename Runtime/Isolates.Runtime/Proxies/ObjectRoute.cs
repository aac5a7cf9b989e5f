using Isolates.Calls;
using Isolates.CompilerServices;

namespace Isolates.Proxies;

/// <summary>
/// Where the calls of an object that does not live in an isolate of this process go: a host service (run in this
/// process on the thread pool, <see cref="HostServiceRoute"/>) or an object of the host reached from a child process
/// (over the pipe, <see cref="Processes.ChildObjects"/>). Objects living in an isolate of this process have no route:
/// their calls are ordinary calls to that isolate.
/// </summary>
internal abstract class ObjectRoute
{
    /// <summary>Calls the object through its generated <paramref name="stub"/> (arguments without the object id).</summary>
    public abstract Task<TResult> Run<TResult>(ObjectReference reference, Delegate stub, ResultShape shape, object?[] arguments, CancellationToken cancellationToken);
}
