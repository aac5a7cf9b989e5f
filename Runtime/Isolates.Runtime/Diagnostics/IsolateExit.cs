namespace Isolates;

/// <summary>
/// How and why an isolate ended: what a watcher receives, exactly once per isolate. Like an Erlang monitor's
/// <c>'DOWN'</c> message it carries the reason, so a supervisor can tell a clean close from a fault, a stuck thread
/// or a context that will not unload without asking the isolate anything.
/// </summary>
public sealed class IsolateExit
{
    internal IsolateExit(Isolate isolate, IsolateExitReason reason, IsolateExecutionException? fault, UnloadStatus unloadStatus, string? diagnostic, DateTimeOffset time)
    {
        Isolate = isolate;
        Reason = reason;
        Fault = fault;
        UnloadStatus = unloadStatus;
        Diagnostic = diagnostic;
        Time = time;
    }

    /// <summary>The isolate that ended (its <see cref="Isolate.Id"/> and <see cref="Isolate.Name"/> identify it in logs).</summary>
    public Isolate Isolate { get; }

    /// <summary>Why it ended.</summary>
    public IsolateExitReason Reason { get; }

    /// <summary>The exception that faulted it (the same one <see cref="Isolate.Completion"/> holds), or null.</summary>
    public IsolateExecutionException? Fault { get; }

    /// <summary>
    /// The unload check's result when the exit was reported: final for <see cref="IsolateExitReason.Closed"/> and
    /// <see cref="IsolateExitReason.UnloadFailed"/>; usually <see cref="UnloadStatus.Pending"/> for a fault or a stuck
    /// isolate, which are reported at once (follow <see cref="Isolate.Unloaded"/> for the rest).
    /// </summary>
    public UnloadStatus UnloadStatus { get; }

    /// <summary>For a stuck isolate or a failed unload, what is known about why (as <see cref="Isolate.UnloadDiagnostic"/>); otherwise null.</summary>
    public string? Diagnostic { get; }

    /// <summary>When the exit was decided, by the isolate's <see cref="IsolateOptions.TimeProvider"/>.</summary>
    public DateTimeOffset Time { get; }

    /// <summary>A child-process isolate's exit code (on Unix, 128 + the signal for a process ended by a signal); null in-process.</summary>
    public int? ExitCode { get; init; }

    /// <summary>A child-process isolate's last lines of output (standard output and error), which explain most crashes; empty in-process.</summary>
    public IReadOnlyList<string> Output { get; init; } = [];

    /// <inheritdoc />
    public override string ToString() =>
        $"Isolate '{Isolate.Name}' ({Isolate.Id}) exited: {Reason}" + (Fault is { } fault ? $" ({fault.RemoteType}: {fault.Message})" : string.Empty);
}
