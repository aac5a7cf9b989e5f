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
    private readonly HashSet<IInFlightCall> _inFlight = [];
    private Task? _closeTask;
    private int _stopRequested;
    private IsolateExecutionException? _fault;
    private string _running = "nothing";

    static Isolate() => UnobservedExceptions.Install();

    /// <summary>
    /// Creates an isolate: a new collectible <see cref="AssemblyLoadContext"/> and a dedicated thread running a
    /// single-threaded synchronization context. Returns as soon as the isolate accepts calls (its thread is running).
    /// </summary>
    /// <param name="options">How to create it; null for the defaults.</param>
    /// <param name="cancellationToken">Cancels the creation; the half-made isolate is closed.</param>
    /// <returns>The running isolate. Close it with <see cref="CloseAsync"/> or <c>await using</c>.</returns>
    /// <exception cref="ArgumentException">An option is invalid; the message names it.</exception>
    public static Task<Isolate> CreateAsync(IsolateOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new IsolateOptions();
        options.Validate();
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<Isolate>(cancellationToken);
        }

        // Thread.Start returns once the new thread runs; calls made before it reaches its loop simply wait in the
        // queue. So the isolate is ready now, and returning synchronously saves a thread-pool hop on every spawn.
        var isolate = new Isolate(options);
        isolate.Start();
        return Task.FromResult(isolate);
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
        var closing = CloseCoreAsync();
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

        _queue.Enqueue(item);
    }

    internal void TrackInFlight(IInFlightCall call) => _inFlight.Add(call);

    internal void UntrackInFlight(IInFlightCall call) => _inFlight.Remove(call);

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
    internal void Fault(Exception exception)
    {
        IsolateExecutionException remote = exception as IsolateExecutionException ?? ExceptionTransfer.ToRemote(exception, Id, Name);
        if (Interlocked.CompareExchange(ref _fault, remote, null) is not null)
        {
            return; // the first fault wins
        }

        Log.Faulted(_logger, Name, Id, remote);
        TransitionTo(IsolateState.Faulted, from: [IsolateState.Starting, IsolateState.Running, IsolateState.Closing]);
        RequestStop();
    }

    private void Start()
    {
        var thread = new Thread(ThreadMain, _options.MaxStackSize)
        {
            IsBackground = true, // a stuck isolate must not keep the process alive
            Name = $"isolate:{Name}",
        };
        _thread = thread;
        Live[Id] = this;
        _ = _threadExited.Task.ContinueWith(static (_, s) => ((Isolate)s!).OnThreadExited(), this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

        // No execution context flows into the isolate: nothing of the creator's (AsyncLocals, activity) leaks in,
        // and nothing captured by the isolate thread keeps the creator's state alive.
        using (ExecutionContext.IsFlowSuppressed() ? default : ExecutionContext.SuppressFlow())
        {
            thread.Start();
        }
    }

    private void ThreadMain()
    {
        t_current = this;
        SynchronizationContext.SetSynchronizationContext(_synchronizationContext);
        AssemblyLoadContext.ContextualReflectionScope scope = _context!.EnterContextualReflection();
        try
        {
            TransitionTo(IsolateState.Running, from: [IsolateState.Starting]);
            Log.Started(_logger, Name, Id);
            RunLoop();
        }
        finally
        {
            StopOnThisThread();
            scope.Dispose();
            SynchronizationContext.SetSynchronizationContext(null);
            t_current = null;
            _threadExited.TrySetResult();
        }
    }

    private void RunLoop()
    {
        while (Volatile.Read(ref _stopRequested) == 0)
        {
            WorkItem item = _queue.Dequeue();
            if (Volatile.Read(ref _stopRequested) != 0)
            {
                item.Abandon(ClosedReason("before it ran"));
                return;
            }

            _running = item.Description;
            try
            {
                item.Execute();
            }
            catch (Exception ex)
            {
                Fault(ex); // escaped isolate code outside any call: an async void method, a posted callback
            }

            _running = "nothing";
        }
    }

    private void StopOnThisThread()
    {
        try
        {
            _closing.Cancel(); // registrations made by isolate code run here, on the isolate's thread
        }
        catch (Exception ex)
        {
            Log.ClosingCallbackFailed(_logger, Name, Id, ExceptionTransfer.ToRemote(ex, Id, Name));
        }

        _queue.Close(ClosedReason("before it ran"));
        IsolateClosedException unfinished = ClosedReason("before it finished");
        foreach (IInFlightCall call in _inFlight.ToArray())
        {
            call.Abandon(unfinished);
        }

        _inFlight.Clear();
    }

    private void RequestStop()
    {
        if (Interlocked.Exchange(ref _stopRequested, 1) == 0)
        {
            _queue.Enqueue(WakeUp.Instance); // wakes the thread if it is waiting for work
        }
    }

    private async Task CloseCoreAsync()
    {
        if (Current == this)
        {
            return; // closing itself: the thread stops after the current item; it cannot wait for that here
        }

        TimeSpan timeout = _options.CloseTimeout;
        try
        {
            await _threadExited.Task.WaitAsync(timeout, _timeProvider).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            string running = _running;
            UnloadDiagnostic = $"The isolate's thread did not stop within {timeout}: it is still running {running}. " +
                "A thread cannot be stopped from outside in .NET; the code must return or watch Isolate.Current.ClosingToken. " +
                "The isolate refuses new calls, and its memory stays in use until the thread returns.";
            Log.Stuck(_logger, Name, Id, timeout, running);
            return;
        }

        if (_options.WaitForUnload)
        {
            await _unloaded.Task.ConfigureAwait(false);
        }
    }

    private void OnThreadExited()
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
        Log.Stopped(_logger, Name, Id);
        _thread = null;
        IsolateLoadContext? context = Interlocked.Exchange(ref _context, null);
        if (context is null || !_options.Collectible)
        {
            _unloaded.TrySetResult(UnloadStatus.NotCollectible);
            return;
        }

        context.Owner = null;
        context.Cache.Retire(); // nothing reachable from the context object may reference its types (see ContextCache)
        context.Unload();
        context = null;
        _ = VerifyUnloadAsync();
    }

    private async Task VerifyUnloadAsync()
    {
        UnloadStatus status = await UnloadVerifier.WaitForCollectionAsync(_contextReference, _options.UnloadTimeout, _timeProvider).ConfigureAwait(false);
        if (status == UnloadStatus.Leaked)
        {
            UnloadDiagnostic = UnloadVerifier.ExplainLeak(Name, _options.UnloadTimeout);
            Log.UnloadFailed(_logger, Name, Id, UnloadDiagnostic);
        }
        else if (status == UnloadStatus.Unloaded)
        {
            UnloadDiagnostic = null;
            Log.Unloaded(_logger, Name, Id);
        }

        _unloaded.TrySetResult(status);
    }

    private IsolateClosedException ClosedReason(string when)
    {
        string message = _fault is not null
            ? $"Isolate '{Name}' ({Id}) faulted {when}: {_fault.RemoteType}: {_fault.Message}"
            : $"Isolate '{Name}' ({Id}) was closed {when}.";
        return new IsolateClosedException(Id, Name, message, _fault);
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

    private sealed class WakeUp : WorkItem
    {
        public static readonly WakeUp Instance = new();

        public override void Execute()
        {
        }

        public override void Abandon(Exception reason)
        {
        }
    }
}
