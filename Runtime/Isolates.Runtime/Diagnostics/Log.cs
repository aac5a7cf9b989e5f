using Microsoft.Extensions.Logging;

namespace Isolates.Diagnostics;

/// <summary>The runtime's log messages. Event ids are stable: dashboards and alerts may rely on them.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, EventName = "IsolateStarted", Level = LogLevel.Debug,
        Message = "Isolate {IsolateName} ({IsolateId}) started")]
    public static partial void Started(ILogger logger, string isolateName, long isolateId);

    [LoggerMessage(EventId = 2, EventName = "IsolateStopped", Level = LogLevel.Debug,
        Message = "Isolate {IsolateName} ({IsolateId}) stopped")]
    public static partial void Stopped(ILogger logger, string isolateName, long isolateId);

    [LoggerMessage(EventId = 3, EventName = "IsolateFaulted", Level = LogLevel.Error,
        Message = "Isolate {IsolateName} ({IsolateId}) faulted: an exception escaped isolate code outside any call")]
    public static partial void Faulted(ILogger logger, string isolateName, long isolateId, Exception exception);

    [LoggerMessage(EventId = 4, EventName = "IsolateUnloaded", Level = LogLevel.Debug,
        Message = "Isolate {IsolateName} ({IsolateId}) was unloaded and collected")]
    public static partial void Unloaded(ILogger logger, string isolateName, long isolateId);

    [LoggerMessage(EventId = 5, EventName = "IsolateUnloadFailed", Level = LogLevel.Warning,
        Message = "Isolate {IsolateName} ({IsolateId}) failed to unload: {Diagnostic}")]
    public static partial void UnloadFailed(ILogger logger, string isolateName, long isolateId, string diagnostic);

    [LoggerMessage(EventId = 6, EventName = "IsolateStuck", Level = LogLevel.Warning,
        Message = "Isolate {IsolateName} ({IsolateId}) did not stop within {Timeout}: its thread is still running {Running}")]
    public static partial void Stuck(ILogger logger, string isolateName, long isolateId, TimeSpan timeout, string running);

    [LoggerMessage(EventId = 7, EventName = "ClosingCallbackFailed", Level = LogLevel.Warning,
        Message = "Isolate {IsolateName} ({IsolateId}): a callback registered on its closing token threw")]
    public static partial void ClosingCallbackFailed(ILogger logger, string isolateName, long isolateId, Exception exception);

    [LoggerMessage(EventId = 8, EventName = "ExitWatcherFailed", Level = LogLevel.Warning,
        Message = "Isolate {IsolateName} ({IsolateId}): a callback watching its exit threw")]
    public static partial void ExitWatcherFailed(ILogger logger, string isolateName, long isolateId, Exception exception);

    [LoggerMessage(EventId = 9, EventName = "SpareWarmUpFailed", Level = LogLevel.Warning,
        Message = "Pre-warmed isolate {IsolateName} ({IsolateId}): its warm-up threw; it is closed and not handed out")]
    public static partial void SpareWarmUpFailed(ILogger logger, string isolateName, long isolateId, Exception exception);

    [LoggerMessage(EventId = 10, EventName = "IsolateDeadlocked", Level = LogLevel.Warning,
        Message = "Isolate {IsolateName} ({IsolateId}) is deadlocked: its thread has been blocked in a synchronous wait for {Blocked} while running {Running}, and {Waiting} waits in its own queue; the call fails and the isolate is faulted. Use await instead of .Result, .Wait() or GetAwaiter().GetResult() in isolate code")]
    public static partial void Deadlocked(ILogger logger, string isolateName, long isolateId, TimeSpan blocked, string running, string waiting);

    [LoggerMessage(EventId = 11, EventName = "ChildChannelItemsLost", Level = LogLevel.Warning,
        Message = "Child-process isolate {IsolateName} ({IsolateId}): {What}")]
    public static partial void ChildChannelItemsLost(ILogger logger, string isolateName, long isolateId, string what);

    [LoggerMessage(EventId = 20, EventName = "PoolIsolateReplaced", Level = LogLevel.Warning,
        Message = "Pool {PoolName}: isolate {IsolateName} ({IsolateId}) faulted and is being replaced")]
    public static partial void PoolIsolateReplaced(ILogger logger, string poolName, string isolateName, long isolateId);

    [LoggerMessage(EventId = 21, EventName = "PoolDisposeTimedOut", Level = LogLevel.Warning,
        Message = "Pool {PoolName}: DisposeTimeout ({DisposeTimeout}) elapsed with {Running} maps or submitted calls still running; they are cut short and fail with IsolatePoolClosedException")]
    public static partial void PoolDisposeTimedOut(ILogger logger, string poolName, TimeSpan disposeTimeout, int running);

    [LoggerMessage(EventId = 22, EventName = "PoolIsolateClosedReplaced", Level = LogLevel.Warning,
        Message = "Pool {PoolName}: isolate {IsolateName} ({IsolateId}) was closed by code other than the pool and is being replaced")]
    public static partial void PoolIsolateClosedReplaced(ILogger logger, string poolName, string isolateName, long isolateId);

    [LoggerMessage(EventId = 23, EventName = "PoolReplacementFailed", Level = LogLevel.Error,
        Message = "Pool {PoolName}: the replacement for slot {Slot} failed to start (attempt {Attempt}); retrying in {RetryDelay}. Work for the slot goes to other slots or waits")]
    public static partial void PoolReplacementFailed(ILogger logger, string poolName, int slot, int attempt, TimeSpan retryDelay, Exception exception);
}
