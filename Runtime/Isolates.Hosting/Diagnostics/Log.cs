using Microsoft.Extensions.Logging;

namespace Isolates.Hosting.Diagnostics;

/// <summary>The hosting layer's log messages. Event ids 30-49 are stable: dashboards and alerts may rely on them.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 30, EventName = "SupervisedIsolateStarted", Level = LogLevel.Information,
        Message = "Supervised isolate {Name} started (isolate {IsolateId}, worker {WorkerType})")]
    public static partial void Started(ILogger logger, string name, long isolateId, string workerType);

    [LoggerMessage(EventId = 31, EventName = "SupervisedIsolateStopped", Level = LogLevel.Information,
        Message = "Supervised isolate {Name} stopped: {Reason}")]
    public static partial void Stopped(ILogger logger, string name, string reason);

    [LoggerMessage(EventId = 32, EventName = "SupervisedIsolateFaulted", Level = LogLevel.Error,
        Message = "Supervised isolate {Name} faulted ({Policy})")]
    public static partial void Faulted(ILogger logger, string name, string policy, Exception exception);

    [LoggerMessage(EventId = 33, EventName = "SupervisedIsolateRestarting", Level = LogLevel.Warning,
        Message = "Supervised isolate {Name} restarts in {Delay} (attempt {Attempt} of {MaxRestarts} within {Within})")]
    public static partial void Restarting(ILogger logger, string name, TimeSpan delay, int attempt, int maxRestarts, TimeSpan within);

    [LoggerMessage(EventId = 34, EventName = "RestartIntensityExceeded", Level = LogLevel.Critical,
        Message = "Supervised isolate {Name} faulted more than {MaxRestarts} times within {Within}: stopping the host with exit code {ExitCode}")]
    public static partial void IntensityExceeded(ILogger logger, string name, int maxRestarts, TimeSpan within, int exitCode, Exception exception);

    [LoggerMessage(EventId = 35, EventName = "ChannelDrained", Level = LogLevel.Information,
        Message = "Host channel {Channel} was drained: every item was delivered")]
    public static partial void Drained(ILogger logger, string channel);

    [LoggerMessage(EventId = 36, EventName = "ChannelUndelivered", Level = LogLevel.Warning,
        Message = "Host channel {Channel} was closed with {Count} undelivered items (not drained within {Timeout})")]
    public static partial void Undelivered(ILogger logger, string channel, int count, TimeSpan timeout);

    [LoggerMessage(EventId = 37, EventName = "IsolateFailedToUnload", Level = LogLevel.Warning,
        Message = "Isolate {IsolateName} ({IsolateId}) of {Owner} failed to unload ({Status}): {Diagnostic}")]
    public static partial void UnloadFailed(ILogger logger, string isolateName, long isolateId, string owner, UnloadStatus status, string diagnostic);

    [LoggerMessage(EventId = 38, EventName = "IsolatesStartFailed", Level = LogLevel.Error,
        Message = "Isolates could not start {What}")]
    public static partial void StartFailed(ILogger logger, string what, Exception exception);

    [LoggerMessage(EventId = 39, EventName = "PoolStarted", Level = LogLevel.Information,
        Message = "Pool {Name} started with {Size} isolates")]
    public static partial void PoolStarted(ILogger logger, string name, int size);

    [LoggerMessage(EventId = 40, EventName = "WorkerDidNotStop", Level = LogLevel.Warning,
        Message = "Supervised isolate {Name} did not return from RunAsync within {Timeout} of being cancelled; closing its isolate")]
    public static partial void DidNotStop(ILogger logger, string name, TimeSpan timeout);

    [LoggerMessage(EventId = 41, EventName = "IsolatesStopped", Level = LogLevel.Information,
        Message = "Isolates stopped: {Isolates} supervised isolates, {Pools} pools; {Leaked} isolates failed to unload")]
    public static partial void HostStopped(ILogger logger, int isolates, int pools, int leaked);

    [LoggerMessage(EventId = 42, EventName = "SupervisorFailed", Level = LogLevel.Critical,
        Message = "The supervisor of {Members} failed; stopping the host with exit code {ExitCode}")]
    public static partial void SupervisorFailed(ILogger logger, string members, int exitCode, Exception exception);

    // Event 43 (ServicesNotExported: exports skipped for child-process isolates) is retired: they get the exports now.
}
