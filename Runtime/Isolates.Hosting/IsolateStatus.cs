namespace Isolates.Hosting;

/// <summary>
/// A snapshot of one supervised isolate: its state, how often it was restarted and why it last faulted. Read it
/// through <see cref="IIsolateHost.GetStatus(string)"/> for dashboards, health checks and tests, without polling logs.
/// </summary>
/// <param name="Name">The name it was registered with.</param>
/// <param name="State">Where it is in its life.</param>
/// <param name="Policy">Its restart policy.</param>
/// <param name="Restarts">How many times it was restarted since the host started.</param>
/// <param name="LastFault">
/// The last fault: the remote exception (<see cref="IsolateExecutionException"/>) when its code threw or its isolate
/// faulted, or the exception that kept it from starting again; null if it never faulted.
/// </param>
/// <param name="LastFaultTime">When <paramref name="LastFault"/> was seen, by the host's <see cref="TimeProvider"/>.</param>
/// <param name="UnloadFailures">How many of its isolates failed to unload after they stopped (see <see cref="Isolates.Isolate.UnloadStatus"/>).</param>
/// <param name="Isolate">The isolate running it now, if any; calls into it are allowed while it runs.</param>
public sealed record IsolateStatus(
    string Name,
    SupervisedIsolateState State,
    RestartPolicy Policy,
    int Restarts,
    Exception? LastFault,
    DateTimeOffset? LastFaultTime,
    int UnloadFailures,
    Isolate? Isolate);
