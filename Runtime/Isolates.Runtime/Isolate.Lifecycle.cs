using System.Runtime.Loader;
using Isolates.Calls;
using Isolates.Diagnostics;
using Isolates.Dispatcher;
using Isolates.Errors;
using Isolates.Loader;
using Isolates.Unloading;

namespace Isolates;

/// <summary>Creating, running, closing and faulting an isolate.</summary>
public sealed partial class Isolate
{
    private readonly HashSet<IInFlightCall> _inFlight = []; // also the lock for itself
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<Channels.ChannelCore, object?> _heldWriters = []; // weak: channels that die are forgotten
    private Task? _closeTask;
    private int _stopRequested;
    private IsolateExecutionException? _fault;
    private WorkItem? _running; // described only when someone asks (a stuck close): no string work per item

    static Isolate()
    {
        UnobservedExceptions.Install();
        Instruments.EnsureCreated();
    }

    /// <summary>
    /// Creates an isolate: a new collectible <see cref="AssemblyLoadContext"/> and a dedicated thread running a
    /// single-threaded synchronization context. Returns as soon as the isolate accepts calls (its thread is running).
    /// </summary>
    /// <param name="options">How to create it; null for the defaults.</param>
    /// <param name="cancellationToken">Cancels the creation (also while <see cref="IsolateOptions.WarmUp"/> runs); the half-made isolate is closed.</param>
    /// <returns>The running isolate, its warm-up (if any) done. Close it with <see cref="CloseAsync"/> or <c>await using</c>.</returns>
    /// <exception cref="ArgumentException">An option is invalid; the message names it.</exception>
    /// <exception cref="NotShareableException">A warm-up function captures state or is not a static method.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) A warm-up function threw; the isolate is closed.</exception>
    public static Task<Isolate> CreateAsync(IsolateOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new IsolateOptions();
        options.Validate();
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<Isolate>(cancellationToken);
        }

        // A pre-warmed isolate (KeepWarm) already has its context and thread: it only needs the caller's options.
        if (TryTakeWarm(options) is { } warm)
        {
            return Task.FromResult(warm);
        }

        if (options.Placement == IsolatePlacement.ChildProcess)
        {
            return CreateChildAsync(options, cancellationToken);
        }

        // Thread.Start returns once the new thread runs; calls made before it reaches its loop simply wait in the
        // queue. So the isolate is ready now, and returning synchronously saves a thread-pool hop on every spawn.
        var isolate = new Isolate(options);
        isolate.Start(listed: true);
        return options.WarmUp.Count == 0 ? Task.FromResult(isolate) : isolate.WarmUpForCreateAsync(cancellationToken);
    }

    /// <summary>
    /// Closes the isolate: refuses new calls, cancels <see cref="ClosingToken"/>, fails queued calls and unfinished
    /// async calls with <see cref="IsolateClosedException"/>, waits (up to <see cref="IsolateOptions.CloseTimeout"/>)
    /// for code running on the isolate's thread to return, unloads the context and, unless
    /// <see cref="IsolateOptions.WaitForUnload"/> is false, checks that it was collected. Safe to call more than
    /// once and from any thread (but not from the isolate's own thread, which cannot wait for itself to stop: there
    /// the returned task completes after the current call returns).
    /// </summary>
    /// <returns>A task that completes when the isolate has closed; it never faults.</returns>
    public Task CloseAsync()
    {
        Task? existing = Volatile.Read(ref _closeTask);
        if (existing is not null)
        {
            return existing;
        }

        TransitionTo(IsolateState.Closing, from: [IsolateState.Starting, IsolateState.Running]);
        RequestStop();
        Task closing;

        // Without flow: when an isolate closes itself (or a child), the close's continuations must not carry that
        // isolate's contextual-reflection scope, which would keep its context alive through the unload check.
        using (ExecutionContext.IsFlowSuppressed() ? default : ExecutionContext.SuppressFlow())
        {
            closing = CloseCoreAsync();
        }

        return Interlocked.CompareExchange(ref _closeTask, closing, null) ?? closing;
    }

    internal void Post(SendOrPostCallback callback, object? state) => _queue.Enqueue(new PostedCallback(callback, state));

    internal void Enqueue(WorkItem item)
    {
        if (Volatile.Read(ref _stopRequested) != 0)
        {
            item.Abandon(ClosedReason("before the call was made"));
            return;
        }

        Interleave.Point("isolate.enqueue.open");
        _queue.Enqueue(item);
    }

    /// <summary>Remembers a channel whose writer this isolate holds; if the isolate faults, the channel is failed.</summary>
    internal void HoldWriter(Channels.ChannelCore core)
    {
        _heldWriters.AddOrUpdate(core, null);
    }

    /// <summary>Records an async call that is waiting inside the isolate, so closing can fail it instead of leaving it pending.</summary>
    internal void TrackInFlight(IInFlightCall call)
    {
        Interleave.Point("isolate.track");
        bool stopped;
        lock (_inFlight)
        {
            stopped = Volatile.Read(ref _stopRequested) != 0;
            if (!stopped)
            {
                _inFlight.Add(call);
            }
        }

        if (stopped)
        {
            call.Abandon(ClosedReason("before it finished", started: true));
        }
    }

    internal void UntrackInFlight(IInFlightCall call)
    {
        lock (_inFlight)
        {
            _inFlight.Remove(call);
        }
    }

    internal TargetPlan GetTarget(CallPlan plan)
    {
        Dictionary<long, TargetPlan> targets = _context!.Cache.Targets;
        if (!targets.TryGetValue(plan.Id, out TargetPlan? target))
        {
            target = TargetPlan.Create(plan, _context);
            targets.Add(plan.Id, target);
        }

        return target;
    }

    /// <summary>Faults the isolate because an exception escaped its code outside any call. Callable from any thread.</summary>
    /// <param name="exception">Why.</param>
    /// <param name="logged">Whether the caller has logged the reason itself (a detected deadlock), so the generic fault message is not written.</param>
    internal void Fault(Exception exception, bool logged = false)
    {
        IsolateExecutionException remote = exception as IsolateExecutionException ?? ExceptionTransfer.ToRemote(exception, Id, Name);
        if (Interlocked.CompareExchange(ref _fault, remote, null) is not null)
        {
            return; // the first fault wins
        }

        if (!logged)
        {
            TryLog(static (logger, isolate, fault) => Log.Faulted(logger, isolate.Name, isolate.Id, fault!), remote);
        }

        TransitionTo(IsolateState.Faulted, from: [IsolateState.Starting, IsolateState.Running, IsolateState.Closing]);
        RequestStop();
    }

    private void Start(bool listed)
    {
        var thread = new Thread(ThreadMain, _options.MaxStackSize)
        {
            IsBackground = true, // a stuck isolate must not keep the process alive
            Name = $"isolate:{Name}",
        };
        _thread = thread;
        if (listed)
        {
            List(); // spares are listed only once they are handed out
        }

        // No execution context flows into the isolate or into the runtime's own continuations: nothing of the
        // creator's (AsyncLocals, its own isolate's contextual-reflection scope) leaks in or is kept alive.
        using (ExecutionContext.IsFlowSuppressed() ? default : ExecutionContext.SuppressFlow())
        {
            _ = _threadExited.Task.ContinueWith(static (_, s) => ((Isolate)s!).OnThreadExited(), this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            try
            {
                thread.Start();
            }
            catch
            {
                Live.TryRemove(Id, out _);
                _context?.Unload();
                _context = null;
                throw;
            }
        }
    }

    private void ThreadMain()
    {
        t_current = this;
        TurnEnd.Begin();
        SynchronizationContext.SetSynchronizationContext(_synchronizationContext);
        AssemblyLoadContext.ContextualReflectionScope scope = _context!.EnterContextualReflection();
        try
        {
            TransitionTo(IsolateState.Running, from: [IsolateState.Starting]);
            TryLog(static (logger, isolate, _) => Log.Started(logger, isolate.Name, isolate.Id));
            RunLoop();
            SampleThread(); // the final figures, read on this thread while it still can
        }
        catch (Exception ex)
        {
            Fault(ex); // only the runtime's own code runs here outside an item; never let it take the process down
        }
        finally
        {
            try
            {
                TurnEnd.End(); // room given back by the last turn's reads must still reach blocked writers
            }
            catch (Exception ex)
            {
                Fault(ex);
            }

            RequestStop();
            scope.Dispose();
            SynchronizationContext.SetSynchronizationContext(null);
            t_current = null;
            _threadExited.TrySetResult();
        }
    }

    private void RunLoop()
    {
        while (_queue.Dequeue() is { } item)
        {
            Interleave.Point("isolate.loop.dequeued");
            if (Volatile.Read(ref _stopRequested) != 0)
            {
                item.Abandon(ClosedReason("before it ran"));
                continue; // the queue is closed: drain what is left, then Dequeue returns null
            }

            // Isolate code may have replaced the synchronization context; every item starts with the isolate's own.
            if (SynchronizationContext.Current != _synchronizationContext)
            {
                SynchronizationContext.SetSynchronizationContext(_synchronizationContext);
            }

            _running = item;
            try
            {
                item.Execute();
            }
            catch (Exception ex)
            {
                Fault(ex); // escaped isolate code outside any call: an async void method, a posted callback
            }

            _running = null;
            ClearInterruptIfDeadlocked();
            try
            {
                TurnEnd.Run(); // e.g. channel writers this turn's reads made room for
            }
            catch (Exception ex)
            {
                Fault(ex);
            }

        }
    }

    /// <summary>
    /// Stops the isolate, from any thread: new and queued calls fail now, unfinished async calls fail now, and the
    /// closing token is cancelled now (on a thread-pool thread, so long-running isolate code that polls it sees it
    /// even while it keeps the isolate's thread busy). The thread itself ends once the code running on it returns.
    /// </summary>
    private void RequestStop()
    {
        if (Interlocked.Exchange(ref _stopRequested, 1) != 0)
        {
            return;
        }

        Interleave.Point("isolate.stop.requested");
        ThreadPool.UnsafeQueueUserWorkItem(static isolate => isolate.CancelClosingToken(), this, preferLocal: false);
        _callGate?.Close(); // calls waiting for room in the queue fail now
        Interleave.Point("isolate.stop.gateClosed");
        _queue.Close(ClosedReason("before it ran"));
        Interleave.Point("isolate.stop.queueClosed");
        IInFlightCall[] unfinished;
        lock (_inFlight)
        {
            unfinished = [.. _inFlight];
            _inFlight.Clear();
        }

        IsolateClosedException reason = ClosedReason("before it finished", started: true);
        foreach (IInFlightCall call in unfinished)
        {
            call.Abandon(reason);
        }

        if (_fault is { } fault)
        {
            Channels.ChannelCore[] held = [.. _heldWriters.Select(pair => pair.Key)];
            _heldWriters.Clear();

            var writerLost = new IsolateClosedException(Id, Name, $"Isolate '{Name}' ({Id}), which held a writer of this channel, faulted: {fault.RemoteType}: {fault.Message}", fault);
            foreach (Channels.ChannelCore core in held.Where(core => !core.SurvivesWriterFaults))
            {
                core.TryFail(writerLost);
            }
        }
    }

    private void CancelClosingToken()
    {
        try
        {
            _closing.Cancel();
        }
        catch (Exception ex)
        {
            TryLog(static (logger, isolate, error) => Log.ClosingCallbackFailed(logger, isolate.Name, isolate.Id, error!), ExceptionTransfer.ToRemote(ex, Id, Name));
        }
    }

    private async Task CloseCoreAsync()
    {
        if (_options.Placement == IsolatePlacement.ChildProcess)
        {
            // Through Isolate.All a close can come while the child starts: it is closed as soon as it runs.
            if ((_child ?? await ChildStartedAsync().ConfigureAwait(false)) is { } child)
            {
                await CloseChildAsync(child).ConfigureAwait(false);
            }

            return;
        }

        // Also fine from the isolate's own thread: nothing here blocks, and no continuation needs that thread.
        TimeSpan timeout = _options.CloseTimeout;
        if (timeout == TimeSpan.Zero && !_stopped.Task.IsCompleted)
        {
            return; // asked not to wait: the isolate finishes closing when its code returns
        }

        try
        {
            await (timeout == Timeout.InfiniteTimeSpan || timeout.TotalMilliseconds >= uint.MaxValue - 1
                ? _stopped.Task
                : UserClock.WaitAsync(_stopped.Task, timeout, _timeProvider)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            string running = RunningDescription;
            UnloadDiagnostic = $"The isolate's thread did not stop within {timeout}: it is still running {running}. " +
                "A thread cannot be stopped from outside in .NET; the code must return or watch Isolate.Current.ClosingToken. " +
                "The isolate refuses new calls, and its memory stays in use until the thread returns.";
            TryLog(static (logger, isolate, _) => Log.Stuck(logger, isolate.Name, isolate.Id, isolate._options.CloseTimeout, isolate.RunningDescription));

            // Every call completes: the one that holds the thread is failed now. Its completion is a Try-set, so if the
            // code ever returns, its result (or error) is discarded instead of reaching a caller that has moved on.
            Volatile.Read(ref _running)?.Abandon(new IsolateClosedException(Id, Name,
                $"Isolate '{Name}' ({Id}) was declared stuck: its thread did not return within CloseTimeout ({timeout}) while running {running}. " +
                "The call was abandoned; if it ever returns, its result is discarded. Long-running isolate code should watch the call's CancellationToken or Isolate.Current.ClosingToken.",
                _fault));
            ReportExit(IsolateExitReason.Stuck, UnloadStatus.Pending);
            return;
        }

        if (_options.WaitForUnload)
        {
            await _unloaded.Task.ConfigureAwait(false);
        }
    }

    private void OnThreadExited()
    {
        try
        {
            if (_fault is { } fault)
            {
                _completion.TrySetException(fault);
            }
            else
            {
                TransitionTo(IsolateState.Closed, from: [IsolateState.Closing, IsolateState.Running, IsolateState.Starting]);
                _completion.TrySetResult();
            }

            Live.TryRemove(Id, out _);
            _stopped.TrySetResult(); // state, Completion and Isolate.All are final: CloseAsync may return
            if (_fault is not null)
            {
                ReportExit(IsolateExitReason.Faulted, UnloadStatus.Pending); // the reason is certain: no need to wait for the unload check
            }

            TryLog(static (logger, isolate, _) => Log.Stopped(logger, isolate.Name, isolate.Id));
            _thread = null;
            IsolateLoadContext? context = Interlocked.Exchange(ref _context, null);
            if (context is null || !_options.Collectible)
            {
                ReportExit(IsolateExitReason.Closed, UnloadStatus.NotCollectible);
                _unloaded.TrySetResult(UnloadStatus.NotCollectible);
                return;
            }

            context.Owner = null;
            context.Cache.Retire(); // nothing reachable from the context object may reference its types (see ContextCache)
            context.Unload();
            _ = VerifyUnloadAsync();
        }
        catch (Exception ex)
        {
            UnloadDiagnostic = $"Unloading failed: {ex.GetType().Name}: {ex.Message}";
            _stopped.TrySetResult();
            Instruments.UnloadFailed(this);
            ReportExit(IsolateExitReason.UnloadFailed, UnloadStatus.Leaked);
            _unloaded.TrySetResult(UnloadStatus.Leaked);
        }
    }

    private async Task VerifyUnloadAsync()
    {
        UnloadStatus status = await UnloadVerifier.WaitForCollectionAsync(_contextReference, _options.UnloadTimeout, _timeProvider).ConfigureAwait(false);
        if (status == UnloadStatus.Leaked)
        {
            // Before the leak is reported, so UnloadDiagnostic already names the root when Unloaded completes.
            LeakDiagnosis.Findings findings = await LeakDiagnosis.DiagnoseAsync(_contextReference).ConfigureAwait(false);
            UnloadDiagnostic = UnloadVerifier.ExplainLeak(Name, _options.UnloadTimeout, findings);
            TryLog(static (logger, isolate, _) => Log.UnloadFailed(logger, isolate.Name, isolate.Id, isolate.UnloadDiagnostic!));
            Instruments.UnloadFailed(this);
        }
        else if (status == UnloadStatus.Unloaded)
        {
            UnloadDiagnostic = null;
            TryLog(static (logger, isolate, _) => Log.Unloaded(logger, isolate.Name, isolate.Id));
        }

        ReportExit(status == UnloadStatus.Leaked ? IsolateExitReason.UnloadFailed : IsolateExitReason.Closed, status);
        _unloaded.TrySetResult(status);
    }

    private string RunningDescription => Volatile.Read(ref _running)?.Description ?? "nothing";

    /// <summary>
    /// Logs on a life-cycle path. A logger that throws cannot break it: <see cref="_logger"/> comes from
    /// <see cref="SafeLogger"/>, the one logging rule shared with the pool and the hosting package.
    /// </summary>
    private void TryLog(Action<Microsoft.Extensions.Logging.ILogger, Isolate, Exception?> write, Exception? exception = null) =>
        write(_logger, this, exception);

    /// <param name="when">When the work was cut off, for the message.</param>
    /// <param name="started">Whether the work had started (then it may have run in part, and must not be run again elsewhere).</param>
    private IsolateClosedException ClosedReason(string when, bool started = false)
    {
        string message = _fault is not null
            ? $"Isolate '{Name}' ({Id}) faulted {when}: {_fault.RemoteType}: {_fault.Message}"
            : $"Isolate '{Name}' ({Id}) was closed {when}.";
        return new IsolateClosedException(Id, Name, message, _fault) { NotStarted = !started };
    }

    private void TransitionTo(IsolateState next, IsolateState[] from)
    {
        while (true)
        {
            int current = Volatile.Read(ref _state);
            if (Array.IndexOf(from, (IsolateState)current) < 0 || Interlocked.CompareExchange(ref _state, (int)next, current) == current)
            {
                return;
            }
        }
    }
}
