namespace Isolates.Hosting;

/// <summary>Where a supervised isolate is in its life under the host.</summary>
public enum SupervisedIsolateState
{
    /// <summary>Registered; the host has not started it yet.</summary>
    NotStarted,

    /// <summary>Its isolate is running its <c>RunAsync</c>.</summary>
    Running,

    /// <summary>It faulted (or a group member did) and waits for its backoff before being started again.</summary>
    Restarting,

    /// <summary>Its <c>RunAsync</c> returned normally; it is not restarted.</summary>
    Completed,

    /// <summary>It faulted under <see cref="RestartPolicy.Never"/> and stays down.</summary>
    Failed,

    /// <summary>It faulted more often than its restart intensity allows; the host was asked to stop.</summary>
    Exhausted,

    /// <summary>The host stopped it.</summary>
    Stopped,
}
