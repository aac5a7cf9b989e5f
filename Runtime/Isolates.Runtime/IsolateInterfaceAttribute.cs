namespace Isolates;

/// <summary>
/// Marks an interface whose implementations can live inside an isolate and be called from anywhere through a typed
/// proxy (<see cref="Isolate.CreateObjectAsync{TInterface, TImpl}(CancellationToken)"/>, <see cref="Isolate.GetHostService{T}"/>).
/// The Isolates source generator writes the proxy and the dispatcher stub for each such interface at build time.
/// Its methods return <see cref="Task"/>, <see cref="Task{TResult}"/>, <see cref="ValueTask"/> or
/// <see cref="ValueTask{TResult}"/>, take shareable parameters (and optionally a <see cref="CancellationToken"/>,
/// honoured on the other side), and return shareable results.
/// The analyzer shipped with the runtime refuses at build time what a proxy cannot carry (ISO007-ISO016).
/// </summary>
[AttributeUsage(AttributeTargets.Interface, Inherited = false)]
public sealed class IsolateInterfaceAttribute : Attribute
{
}
