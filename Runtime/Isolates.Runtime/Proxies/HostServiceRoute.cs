using Isolates.Calls;
using Isolates.CompilerServices;

namespace Isolates.Proxies;

/// <summary>The route of a host service: its calls run in this process, on the thread pool (<see cref="HostCall"/>).</summary>
internal sealed class HostServiceRoute : ObjectRoute
{
    public static readonly HostServiceRoute Instance = new();

    private HostServiceRoute()
    {
    }

    public override Task<TResult> Run<TResult>(ObjectReference reference, Delegate stub, ResultShape shape, object?[] arguments, CancellationToken cancellationToken) =>
        HostCall.Run<TResult>(reference, stub, shape, arguments, cancellationToken);
}
