namespace Isolates;

/// <summary>How an isolate ended, as reported once by <see cref="Isolate.Exited"/>, <see cref="Isolate.Watch"/> and <see cref="Isolate.WatchAll"/>.</summary>
public enum IsolateExitReason
{
    /// <summary>It was closed, its thread stopped and its context was unloaded (or is not collectible, or the check was skipped).</summary>
    Closed,

    /// <summary>An exception escaped isolate code outside any call; <see cref="IsolateExit.Fault"/> holds it. Takes precedence over an unload failure.</summary>
    Faulted,

    /// <summary>
    /// Closing gave up: code on the isolate's thread did not return within <see cref="IsolateOptions.CloseTimeout"/>.
    /// The isolate refuses calls but its thread and memory stay in use until that code returns.
    /// </summary>
    Stuck,

    /// <summary>
    /// It was closed and its thread stopped, but its context was not collected within
    /// <see cref="IsolateOptions.UnloadTimeout"/> (something outside still references it) or unloading threw.
    /// </summary>
    UnloadFailed,

    /// <summary>A child-process isolate was ended by <see cref="Isolate.KillAsync"/>.</summary>
    Killed,

    /// <summary>
    /// A child-process isolate's process ended on its own: a stack overflow, <c>Environment.FailFast</c> or
    /// <c>Environment.Exit</c> in its code, an unhandled exception on another thread, or a signal from outside.
    /// <see cref="IsolateExit.ExitCode"/> and <see cref="IsolateExit.Output"/> say more.
    /// </summary>
    Crashed,

    /// <summary>A child-process isolate reached its <see cref="IsolateOptions.MemoryLimit"/> and ended.</summary>
    MemoryLimitExceeded,
}
