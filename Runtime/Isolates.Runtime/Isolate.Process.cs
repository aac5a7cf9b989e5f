using Isolates.Diagnostics;
using Isolates.Processes;

namespace Isolates;

/// <summary>The child-process placement's part of the facade (see <see cref="IsolatePlacement"/> and <see cref="Engines.ChildProcessEngine"/>).</summary>
public sealed partial class Isolate
{
    private ChildEnd? _processEnd; // how the child process ended, for Exited

    /// <summary>The child process's id for <see cref="IsolatePlacement.ChildProcess"/>; null for an in-process isolate.</summary>
    public int? ProcessId => _engine.ProcessId;

    /// <summary>Where the isolate runs.</summary>
    public IsolatePlacement Placement => _options.Placement;

    /// <summary>
    /// Ends a child-process isolate at once (the process is killed, with any processes it started): calls waiting for
    /// it fail with <see cref="IsolateClosedException"/>, and <see cref="Exited"/> reports
    /// <see cref="IsolateExitReason.Killed"/>. Use it for a runaway isolate; <see cref="CloseAsync"/> is the graceful way
    /// (and kills the child itself after <see cref="IsolateOptions.CloseTimeout"/>). Safe to call more than once and
    /// after the isolate ended.
    /// </summary>
    /// <returns>A task that completes once the process has exited and every call has completed.</returns>
    /// <exception cref="NotSupportedException">The isolate runs in this process: a thread cannot be killed in .NET. Use
    /// <see cref="IsolatePlacement.ChildProcess"/> for isolates you may have to kill.</exception>
    public async Task KillAsync()
    {
        _engine.EnsureKillable();
        TransitionTo(IsolateState.Closing, from: [IsolateState.Starting, IsolateState.Running]);
        RequestStop();
        await _engine.KillAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// In a child process, on the pipe's reader thread: the isolate serving a pre-warmed child takes the options of the
    /// creation it was handed out to (its name, CloseTimeout, queue bound, deadlock timeout). Its context, thread and
    /// warm-up stay, as for an in-process spare.
    /// </summary>
    internal void AdoptInChild(IsolateOptions options)
    {
        _options = _options with
        {
            Name = options.Name,
            CloseTimeout = options.CloseTimeout,
            MaxQueuedCalls = options.MaxQueuedCalls,
            BlockedThreadTimeout = options.BlockedThreadTimeout,
            HostServices = options.HostServices,
        };
        Name = options.Name ?? Name;
        _callGate = CallGateFor(_options);
        _engine.Adopt(_options);
        _engine.StartWatching(); // the child's isolate was listed (and watched, or not) with the spare's timeout
    }

    /// <summary>A channel bridge to this isolate's child could not deliver items (Log event 10, ChildChannelItemsLost).</summary>
    internal void LogChannelItemsLost(string what) => Log.ChildChannelItemsLost(_logger, Name, Id, what); // _logger is a SafeLogger

    /// <summary>The child process has ended and every call to it has completed: the isolate ends the same way.</summary>
    internal void OnProcessEnded(ChildEnd end)
    {
        _processEnd = end;
        UnloadDiagnostic = end.Reason == IsolateExitReason.Closed ? end.LostItems : end.Description;
        if (end.Reason is IsolateExitReason.Faulted or IsolateExitReason.Crashed or IsolateExitReason.MemoryLimitExceeded)
        {
            IsolateExecutionException fault = end.Fault ?? new IsolateExecutionException(Id, Name, "ChildProcessExited", end.Description, null);
            if (Interlocked.CompareExchange(ref _fault, fault, null) is null)
            {
                TryLog(static (logger, isolate, error) => Log.Faulted(logger, isolate.Name, isolate.Id, error!), fault);
            }

            TransitionTo(IsolateState.Faulted, from: [IsolateState.Starting, IsolateState.Running, IsolateState.Closing]);
            RequestStop();
            _completion.TrySetException(_fault!);
        }
        else
        {
            RequestStop();
            TransitionTo(IsolateState.Closed, from: [IsolateState.Closing, IsolateState.Running, IsolateState.Starting]);
            _completion.TrySetResult();
        }

        SetStopped();
        TryLog(static (logger, isolate, _) => Log.Stopped(logger, isolate.Name, isolate.Id));
        ReportExit(end.Reason, UnloadStatus.Unloaded); // the process is gone, and everything it loaded with it
        _unloaded.TrySetResult(UnloadStatus.Unloaded);
    }
}
