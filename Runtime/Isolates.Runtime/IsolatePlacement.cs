namespace Isolates;

/// <summary>Where an isolate runs: the same API either way, so code moves between placements by changing one option.</summary>
public enum IsolatePlacement
{
    /// <summary>
    /// In this process (the default): a private collectible assembly context and a dedicated thread. Starts in
    /// microseconds and calls in about a microsecond, but cannot be killed, given a memory limit, or survive a crash of
    /// its code (a stack overflow or <c>Environment.Exit</c> ends the whole process).
    /// </summary>
    InProcess,

    /// <summary>
    /// In a child process of its own, running the application's own assemblies: it can be killed
    /// (<see cref="Isolate.KillAsync"/>), given a <see cref="IsolateOptions.MemoryLimit"/>, and whatever its code does
    /// (a stack overflow, <c>Environment.FailFast</c>, <c>Environment.Exit</c>, an unhandled exception on any thread) ends
    /// only the child. Costs a process start (tens of milliseconds, see <c>docs/performance.md</c>; pre-warm with
    /// <see cref="Isolate.KeepWarm(int, IsolateOptions?)"/>) and a pipe round trip per call.
    /// </summary>
    ChildProcess,
}
