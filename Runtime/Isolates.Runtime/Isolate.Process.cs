using Isolates.Calls;
using Isolates.Diagnostics;
using Isolates.Loader;
using Isolates.Processes;

namespace Isolates;

/// <summary>The child-process placement: the same isolate API over a child process (see <see cref="IsolatePlacement"/>).</summary>
public sealed partial class Isolate
{
    private ChildLink? _child;
    private ChildEnd? _childEnd;
    private TaskCompletionSource<ChildLink?>? _childStarted; // set before the isolate is listed; null once the start failed

    /// <summary>The child once it runs, or null if its start failed (or it never began).</summary>
    private Task<ChildLink?> ChildStartedAsync() => Volatile.Read(ref _childStarted)?.Task ?? Task.FromResult<ChildLink?>(null);

    /// <summary>The child process's id for <see cref="IsolatePlacement.ChildProcess"/>; null for an in-process isolate.</summary>
    public int? ProcessId => _child?.ProcessId;

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
        if (_options.Placement == IsolatePlacement.InProcess)
        {
            throw new NotSupportedException(
                $"Isolate '{Name}' runs in this process, and a thread cannot be killed in .NET. Create it with Placement = IsolatePlacement.ChildProcess to be able to kill it, " +
                "or have its code watch the call's CancellationToken or Isolate.Current.ClosingToken and use CloseAsync.");
        }

        TransitionTo(IsolateState.Closing, from: [IsolateState.Starting, IsolateState.Running]);
        RequestStop();

        // Through Isolate.All a kill can come while the child starts: it is killed as soon as it runs.
        if ((_child ?? await ChildStartedAsync().ConfigureAwait(false)) is not { } child)
        {
            return; // its start failed: nothing runs
        }

        await child.KillAsync().ConfigureAwait(false);
        await _stopped.Task.ConfigureAwait(false);
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
        };
        Name = options.Name ?? Name;
        _callGate = CallGateFor(_options);
        RenameThread();
    }

    /// <summary>
    /// In a child process: from its next idle moment on, the isolate's thread waits through <paramref name="idle"/> (it
    /// reads the pipe itself, so a call runs on the thread that received it). Set on the isolate's own thread, as the
    /// queue requires; queued behind whatever is queued now.
    /// </summary>
    internal void WaitWhenIdle(Dispatcher.IdleWait idle) => Post(static s => { var (queue, wait) = ((Dispatcher.WorkQueue, Dispatcher.IdleWait))s!; queue.SetIdleWait(wait); }, (_queue, idle));

    /// <summary>The child process behind a child-process isolate; null in-process.</summary>
    internal ChildLink? Child => _child;

    /// <summary>The isolate's context (in-process isolates only).</summary>
    internal IsolateLoadContext LoadContext => _context ?? throw new InvalidOperationException($"Isolate '{Name}' has no load context (it is closed, or runs in a child process).");

    private static async Task<Isolate> CreateChildAsync(IsolateOptions options, CancellationToken cancellationToken)
    {
        var isolate = new Isolate(options);
        await isolate.StartChildAsync(listed: true, cancellationToken).ConfigureAwait(false);
        return options.WarmUp.Count == 0 ? isolate : await isolate.WarmUpForCreateAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task StartChildAsync(bool listed, CancellationToken cancellationToken)
    {
        var started = new TaskCompletionSource<ChildLink?>(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _childStarted, started);
        if (listed)
        {
            List();
        }

        try
        {
            _child = await ChildLink.StartAsync(this, _options, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Live.TryRemove(Id, out _);
            TransitionTo(IsolateState.Closed, from: [IsolateState.Starting]);
            Interlocked.Exchange(ref _stopRequested, 1);
            _completion.TrySetResult();
            _stopped.TrySetResult();
            _unloaded.TrySetResult(UnloadStatus.Unloaded);
            _closeTask ??= Task.CompletedTask;
            started.TrySetResult(null);
            throw;
        }

        TransitionTo(IsolateState.Running, from: [IsolateState.Starting]); // stays Closing if a close or kill came meanwhile
        TryLog(static (logger, isolate, _) => Log.Started(logger, isolate.Name, isolate.Id));
        _ = _child.Ended.ContinueWith(static (ended, s) => ((Isolate)s!).OnChildEnded(ended.Result), this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        started.TrySetResult(_child); // a close or kill waiting for the start goes on now
    }

    private Task<TResult> CallChild<TArgs, TResult>(ChildLink child, Delegate function, ResultShape shape, TArgs args, CancellationToken cancellationToken)
        where TArgs : struct, IArgs
    {
        CallPlan plan;
        try
        {
            plan = CallPlan.Get(function, shape);
        }
        catch (Exception ex)
        {
            return Task.FromException<TResult>(ex);
        }

        // A CancellationToken argument cancels the call too, as in-process (CallItem registers each one): the caller's task
        // completes as cancelled and the function's token is cancelled in the child.
        CancellationTokenSource? linked = plan.HasTokenParameter ? LinkTokenArguments(plan, args, ref cancellationToken) : null;
        if (linked is not null)
        {
            Task<TResult> withTokens = CallChild<TArgs, TResult>(child, plan, args, cancellationToken);
            _ = withTokens.ContinueWith(static (_, s) => ((CancellationTokenSource)s!).Dispose(), linked, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return withTokens;
        }

        return CallChild<TArgs, TResult>(child, plan, args, cancellationToken);
    }

    /// <summary>The call token linked with every cancellable token argument, or null when there is none to link.</summary>
    private static CancellationTokenSource? LinkTokenArguments<TArgs>(CallPlan plan, TArgs args, ref CancellationToken cancellationToken)
        where TArgs : struct, IArgs
    {
        List<CancellationToken>? tokens = null;
        for (int i = 0; i < plan.TokenParameters.Length; i++)
        {
            if (plan.TokenParameters[i] && args.Get(i) is CancellationToken { CanBeCanceled: true } token && token != cancellationToken)
            {
                (tokens ??= []).Add(token);
            }
        }

        if (tokens is null)
        {
            return null;
        }

        tokens.Add(cancellationToken);
        var linked = CancellationTokenSource.CreateLinkedTokenSource([.. tokens]);
        cancellationToken = linked.Token;
        return linked;
    }

    private Task<TResult> CallChild<TArgs, TResult>(ChildLink child, CallPlan plan, TArgs args, CancellationToken cancellationToken)
        where TArgs : struct, IArgs
    {
        CallTelemetry? telemetry = CallTelemetry.Begin(this); // null unless someone listens
        if (telemetry is null)
        {
            return child.CallAsync<TArgs, TResult>(plan, args, cancellationToken, gate: _callGate);
        }

        // The call's activity is started here, in the host, and its context crosses in the call frame: the child's
        // code continues the same trace (its own activities and outgoing requests carry the caller's trace id).
        System.Diagnostics.Activity? previous = System.Diagnostics.Activity.Current;
        string? traceParent = null;
        if (telemetry.Trace is not null)
        {
            _ = telemetry.StartActivity(this, plan);
            traceParent = System.Diagnostics.Activity.Current?.Id;
            System.Diagnostics.Activity.Current = previous;
        }

        Task<TResult> call = child.CallAsync<TArgs, TResult>(plan, args, cancellationToken, traceParent, _callGate);
        _ = call.ContinueWith(static (done, state) => ((Tuple<CallTelemetry, Isolate>)state!).Item1.End(((Tuple<CallTelemetry, Isolate>)state!).Item2, done), Tuple.Create(telemetry, this), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return call;
    }

    private async Task CloseChildAsync(ChildLink child)
    {
        await child.CloseAsync(_options.CloseTimeout, _timeProvider).ConfigureAwait(false);
        await _stopped.Task.ConfigureAwait(false);
    }

    /// <summary>A channel bridge to this isolate's child could not deliver items (Log event 10, ChildChannelItemsLost).</summary>
    internal void LogChannelItemsLost(string what) => Log.ChildChannelItemsLost(_logger, Name, Id, what); // _logger is a SafeLogger

    /// <summary>The child process has ended and every call to it has completed: the isolate ends the same way.</summary>
    private void OnChildEnded(ChildEnd end)
    {
        _childEnd = end;
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

        Live.TryRemove(Id, out _);
        _stopped.TrySetResult();
        TryLog(static (logger, isolate, _) => Log.Stopped(logger, isolate.Name, isolate.Id));
        ReportExit(end.Reason, UnloadStatus.Unloaded); // the process is gone, and everything it loaded with it
        _unloaded.TrySetResult(UnloadStatus.Unloaded);
    }
}
