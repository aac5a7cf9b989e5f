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
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _closeTask;
    private int _stopRequested;
    private IsolateExecutionException? _fault;

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

        // In process, Thread.Start returns once the new thread runs; calls made before it reaches its loop simply wait
        // in the queue. So the isolate is ready now, and returning synchronously saves a thread-pool hop on every spawn.
        var isolate = new Isolate(options);
        ValueTask started = isolate.StartAsync(listed: true, cancellationToken);
        if (!started.IsCompletedSuccessfully)
        {
            return isolate.CreateWhenStartedAsync(started, cancellationToken); // a child process: wait for it to run
        }

        return options.WarmUp.Count == 0 ? Task.FromResult(isolate) : isolate.WarmUpForCreateAsync(cancellationToken);
    }

    private async Task<Isolate> CreateWhenStartedAsync(ValueTask started, CancellationToken cancellationToken)
    {
        await started.ConfigureAwait(false);
        return _options.WarmUp.Count == 0 ? this : await WarmUpForCreateAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Lists the isolate (unless it is a spare) and starts its engine.</summary>
    private ValueTask StartAsync(bool listed, CancellationToken cancellationToken)
    {
        if (listed)
        {
            List(); // spares are listed only once they are handed out
        }

        return _engine.StartAsync(cancellationToken);
    }

    /// <summary>
    /// Closes the isolate: refuses new calls, cancels <see cref="ClosingToken"/>, fails queued calls and unfinished
    /// async calls with <see cref="IsolateClosedException"/>, waits (up to <see cref="IsolateOptions.CloseTimeout"/>)
    /// for code running on the isolate's thread to return and for the objects still in it to be disposed (see
    /// <see cref="CreateObjectAsync{TInterface, TImpl}(CancellationToken)"/>), unloads the context and, unless
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
            closing = _engine.CloseAsync();
        }

        return Interlocked.CompareExchange(ref _closeTask, closing, null) ?? closing;
    }

    /// <summary>Whether the isolate has begun to stop (closing, faulted or ended): it refuses new work.</summary>
    internal bool StopRequested => Volatile.Read(ref _stopRequested) != 0;

    /// <summary>Why the isolate faulted, or null.</summary>
    internal IsolateExecutionException? FaultReason => Volatile.Read(ref _fault);

    /// <summary>The places in the queue for calls (<see cref="IsolateOptions.MaxQueuedCalls"/>), or null for no bound.</summary>
    internal CallGate? CallGate => _callGate;

    /// <summary>The clock of the isolate's options.</summary>
    internal TimeProvider TimeProvider => _timeProvider;

    /// <summary>Completes once state, <see cref="Completion"/> and <see cref="All"/> are final (before the unload check).</summary>
    internal Task StoppedTask => _stopped.Task;

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

    /// <summary>
    /// Stops the isolate, from any thread: new and queued calls fail now, unfinished async calls fail now, and the
    /// closing token is cancelled now (on a thread-pool thread, so long-running isolate code that polls it sees it
    /// even while it keeps the isolate's thread busy). The thread itself ends once the code running on it returns.
    /// </summary>
    internal void RequestStop()
    {
        if (Interlocked.Exchange(ref _stopRequested, 1) != 0)
        {
            return;
        }

        Interleave.Point("isolate.stop.requested");
        ThreadPool.UnsafeQueueUserWorkItem(static isolate => isolate.CancelClosingToken(), this, preferLocal: false);
        _callGate?.Close(); // calls waiting for room in the queue fail now
        Interleave.Point("isolate.stop.gateClosed");
        _engine.Stop();
    }

    /// <summary>The engine's code has stopped: state and <see cref="Completion"/> become final, and the isolate leaves <see cref="All"/>.</summary>
    internal void CompleteStopped()
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

        SetStopped();
    }

    /// <summary>Takes the isolate out of <see cref="All"/> and lets <see cref="CloseAsync"/> return.</summary>
    internal void SetStopped()
    {
        Live.TryRemove(Id, out _);
        _stopped.TrySetResult();
    }

    /// <summary>Completes <see cref="Unloaded"/>.</summary>
    internal void SetUnloaded(UnloadStatus status) => _unloaded.TrySetResult(status);

    /// <summary>
    /// The engine failed to start (its failure goes to the creator): the isolate ends closed, never having run. It was
    /// listed (unless a spare), so a close or a call may have found it meanwhile: it ends Closed from Closing too, and its
    /// exit is reported like any other.
    /// </summary>
    internal void EndUnstarted()
    {
        RequestStop();
        TransitionTo(IsolateState.Closed, from: [IsolateState.Starting, IsolateState.Closing]);
        _completion.TrySetResult();
        SetStopped();
        ReportExit(IsolateExitReason.Closed, UnloadStatus.Unloaded); // nothing was loaded
        _unloaded.TrySetResult(UnloadStatus.Unloaded);
        Interlocked.CompareExchange(ref _closeTask, Task.CompletedTask, null);
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

    /// <summary>
    /// Logs on a life-cycle path. A logger that throws cannot break it: <see cref="_logger"/> comes from
    /// <see cref="SafeLogger"/>, the one logging rule shared with the pool and the hosting package.
    /// </summary>
    internal void TryLog(Action<Microsoft.Extensions.Logging.ILogger, Isolate, Exception?> write, Exception? exception = null) =>
        write(_logger, this, exception);

    /// <param name="when">When the work was cut off, for the message.</param>
    /// <param name="started">Whether the work had started (then it may have run in part, and must not be run again elsewhere).</param>
    internal IsolateClosedException ClosedReason(string when, bool started = false)
    {
        string message = _fault is not null
            ? $"Isolate '{Name}' ({Id}) faulted {when}: {_fault.RemoteType}: {_fault.Message}"
            : $"Isolate '{Name}' ({Id}) was closed {when}.";
        return new IsolateClosedException(Id, Name, message, _fault) { NotStarted = !started };
    }

    internal void TransitionTo(IsolateState next, IsolateState[] from)
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
