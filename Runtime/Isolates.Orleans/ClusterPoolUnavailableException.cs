namespace Isolates.Orleans;

/// <summary>
/// Thrown when no silo of the cluster runs an isolate pool of the requested name (none called
/// <c>AddIsolatePool</c> with it, or every one that did has stopped).
/// </summary>
public sealed class ClusterPoolUnavailableException : IsolateException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="poolName">The pool's name.</param>
    /// <param name="message">What was looked for and what to do.</param>
    public ClusterPoolUnavailableException(string poolName, string message)
        : base(message)
    {
        PoolName = poolName ?? string.Empty;
    }

    /// <summary>The pool's name.</summary>
    public string PoolName { get; }
}
