using System.Runtime.CompilerServices;

namespace Isolates.Tests.Support;

/// <summary>Initializers that let a pool test decide, from the host, whether an isolate's start fails.</summary>
public static class PoolReplacementWork
{
    /// <summary>
    /// The AppDomain data key of a <see cref="StrongBox{T}"/> of int: how many starts are still to fail. AppDomain data
    /// (and StrongBox, a CoreLib type) is shared by the host and every isolate, whose own statics are not.
    /// </summary>
    public const string FailuresKey = "Isolates.Tests.PoolReplacementWork.Failures";

    /// <summary>An initializer that throws while failures are armed, taking one each time.</summary>
    public static void FailWhileArmed()
    {
        if (AppDomain.CurrentDomain.GetData(FailuresKey) is StrongBox<int> remaining && Interlocked.Decrement(ref remaining.Value) >= 0)
        {
            throw new InvalidOperationException("replacement initializer failed");
        }
    }
}
