using System.Diagnostics;
using Isolates.Dispatcher;
using Isolates.Engines;
using Isolates.Errors;
using Isolates.Wire;

namespace Isolates.Calls;

/// <summary>
/// One call in flight: created by the caller, executed on the isolate's thread, completed exactly once with the
/// result, the remote exception, cancellation or <see cref="IsolateClosedException"/>.
/// </summary>
/// <remarks>
/// It is the caller's side of the call: generic over the caller's types, holding the caller's plan, delegate, arguments
/// and task. The isolate keeps it while it is queued or running on the isolate's thread; once the function has returned
/// a task that is not complete, the isolate keeps only a <see cref="PendingCall"/>, which lets go of this item as soon as
/// the caller's task is done. A call made from another isolate also ends when that isolate closes (with
/// <see cref="IsolateClosedException"/>), so a function that never finishes cannot keep a closed caller's context loaded.
/// </remarks>
/// <typeparam name="TArgs">The arguments, in their caller-side static types.</typeparam>
/// <typeparam name="TResult">The caller's result type (an internal unit type for calls that return nothing).</typeparam>
internal sealed class CallItem<TArgs, TResult> : WorkItem, IInFlightCall, IGatedCall, IPendingCaller
    where TArgs : struct, IArgs
{
    private readonly InProcessEngine _engine;
    private readonly CallPlan _plan;
    private readonly TArgs _args;
    private readonly byte[]? _payload;
    private readonly object[]? _attachments;
    private readonly Func<Delegate, TArgs, object?> _direct;
    private readonly TaskCompletionSource<TResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationToken _cancellation;
    // The caller's token, or the calling isolate's closing token when that is the only one; the others (token arguments,
    // the closing token beside another one) in _moreRegistrations, so a call pays for no field it rarely needs.
    private CancellationTokenRegistration _registration;
    private CancellationTokenRegistration[]? _moreRegistrations;
    private CancellationTokenSource? _isolateTokenSource;
    private Isolate? _callingIsolate; // another isolate that made the call (from its thread or its code on the pool), or null
    private PendingCall? _pendingCall;
    private Diagnostics.CallTelemetry? _telemetry;
    // IsolateOptions.MaxQueuedCalls: the CallGate whose queue place this call holds until it starts, or a WaitingIn
    // while it waits in that gate's line; one field, as a call never does both (null without a bound).
    private object? _gate;

    public CallItem(InProcessEngine engine, CallPlan plan, TArgs args, byte[]? payload, object[]? attachments, Func<Delegate, TArgs, object?> direct, CancellationToken cancellation)
    {
        _attachments = attachments;
        _engine = engine;
        _plan = plan;
        _args = args;
        _payload = payload;
        _direct = direct;
        _cancellation = cancellation;
    }

    public Task<TResult> Task => _completion.Task;

    /// <summary>The call's start time and trace context; set (before the call is queued) only while someone listens.</summary>
    public Diagnostics.CallTelemetry? Telemetry
    {
        set => _telemetry = value;
    }

    public override string Description => "a call of " + _plan.DisplayName;

    /// <summary>Made on the isolate's own thread (a call to itself): only that thread can run it, so it may be waited for there.</summary>
    public bool FromOwnThread { get; init; }

    public override bool MayBeAwaited => FromOwnThread;

    /// <summary>
    /// Links the caller's tokens to this call, and the closing of <paramref name="callingIsolate"/> (another isolate that
    /// makes the call, or null); false when one is already cancelled (the task then is complete).
    /// </summary>
    public bool RegisterCancellation(Isolate? callingIsolate)
    {
        if (_cancellation.CanBeCanceled)
        {
            _registration = _cancellation.UnsafeRegister(static (state, token) => ((CallItem<TArgs, TResult>)state!).OnCallerCancelled(token), this);
        }

        if (_plan.HasTokenParameter || callingIsolate is not null)
        {
            RegisterMore(callingIsolate);
        }

        if (_completion.Task.IsCompleted)
        {
            Release(); // a token was already cancelled: undo the registrations made so far
            return false;
        }

        return true;
    }

    /// <summary>The token arguments, and the calling isolate's closing (the rarer registrations).</summary>
    private void RegisterMore(Isolate? callingIsolate)
    {
        CancellationTokenRegistration closed = default;
        if (callingIsolate is not null)
        {
            // The calling isolate is gone: nobody waits for the answer, and what the call holds of it must go. Runs at
            // once (on this thread) when it is closing already.
            _callingIsolate = callingIsolate;
            closed = callingIsolate.ClosingToken.UnsafeRegister(static (state, _) => ((CallItem<TArgs, TResult>)state!).OnCallingIsolateClosed(), this);
            if (!_cancellation.CanBeCanceled && !_plan.HasTokenParameter)
            {
                _registration = closed; // the usual call between isolates: no list, no array
                return;
            }
        }

        var registrations = new List<CancellationTokenRegistration>();
        if (callingIsolate is not null)
        {
            registrations.Add(closed);
        }

        for (int i = 0; i < _plan.TokenParameters.Length; i++)
        {
            if (_plan.TokenParameters[i] && _args.Get(i) is CancellationToken { CanBeCanceled: true } token && token != _cancellation)
            {
                registrations.Add(token.UnsafeRegister(static (state, t) => ((CallItem<TArgs, TResult>)state!).OnCallerCancelled(t), this));
            }
        }

        _moreRegistrations = [.. registrations];
    }

    /// <summary>Records that this call holds a place in a bounded queue, to give back when it starts or is abandoned.</summary>
    public void HoldPlace(CallGate gate) => Volatile.Write(ref _gate, gate);

    bool IGatedCall.IsCompleted => _completion.Task.IsCompleted;

    void IGatedCall.Admit(CallGate gate)
    {
        HoldPlace(gate); // no longer waiting
        _engine.Enqueue(this); // on the thread that gave the place back; abandoned if the isolate is stopping
    }

    void IGatedCall.Refuse(Exception reason)
    {
        Volatile.Write(ref _gate, null);
        Fail(reason);
    }

    /// <summary>Records that the call waits in <paramref name="gate"/>'s line (so its cancellation can take it out), or no longer does.</summary>
    public void WaitAt(CallGate? gate) => Volatile.Write(ref _gate, gate is null ? null : new WaitingIn(gate));

    /// <summary>Gives the queue place back, once, however many ways the call leaves the queue; free when there is no bound.</summary>
    private void ReleasePlace()
    {
        if (Volatile.Read(ref _gate) is CallGate gate && Interlocked.CompareExchange(ref _gate, null, gate) == gate)
        {
            gate.Release();
        }
    }

    /// <summary>The mark of a call waiting in a gate's line (rare: only past the bound).</summary>
    private sealed class WaitingIn(CallGate gate)
    {
        public CallGate Gate => gate;
    }

    public override void Execute()
    {
        ReleasePlace(); // started (or found cancelled): the next waiting call goes into the queue
        try
        {
            ExecuteCore();
        }
        catch (Exception ex)
        {
            // Only the runtime's own code gets here (isolate code is caught closer to it); the call must still end.
            Fail(ExceptionTransfer.ToCaller(ex, _engine.Owner.Id, _engine.Owner.Name));
        }
    }

    private void ExecuteCore()
    {
        if (_completion.Task.IsCompleted)
        {
            Release();
            return; // cancelled while queued
        }

        if (_plan.HasTokenParameter)
        {
            var source = CancellationTokenSource.CreateLinkedTokenSource(_engine.Owner.ClosingToken);
            Interlocked.Exchange(ref _isolateTokenSource, source); // a full fence before looking at the task again
            if (_completion.Task.IsCompleted)
            {
                Release();
                return;
            }
        }

        TargetPlan target;
        try
        {
            target = _engine.GetTarget(_plan);
        }
        catch (Exception ex)
        {
            Fail(ExceptionTransfer.ToCaller(ex, _engine.Owner.Id, _engine.Owner.Name));
            return;
        }

        if (_telemetry is not { Trace: not null } telemetry)
        {
            Invoke(target);
            return;
        }

        // The call's activity is current while user code runs (and flows into what it awaits); the isolate's thread
        // gets its previous activity back afterwards, so the next item does not inherit it.
        Activity? previous = telemetry.StartActivity(_engine.Owner, _plan);
        try
        {
            Invoke(target);
        }
        finally
        {
            Activity.Current = previous;
            if (_completion.Task.IsCompleted)
            {
                telemetry.End(_engine.Owner, _completion.Task); // in case the call ended on another thread before the activity was stored
            }
        }
    }

    private void Invoke(TargetPlan target)
    {
        object? returned;
        if (target.Direct is not null)
        {
            try
            {
                returned = _direct(target.Direct, _args);
            }
            catch (Exception ex)
            {
                FailFromIsolateCode(ex);
                return;
            }
        }
        else
        {
            object?[] arguments;
            try
            {
                arguments = BuildArguments(target);
            }
            catch (Exception ex)
            {
                Fail(ExceptionTransfer.ToCaller(ex, _engine.Owner.Id, _engine.Owner.Name));
                return;
            }

            try
            {
                returned = target.Invoker!.Invoke(target.Target, arguments.AsSpan());
            }
            catch (Exception ex)
            {
                FailFromIsolateCode(ex);
                return;
            }
        }

        switch (_plan.Shape)
        {
            case ResultShape.Value:
                CompleteWith(returned, target);
                break;
            case ResultShape.Void:
                Succeed(default!);
                break;
            default:
                AwaitResult(returned, target);
                break;
        }
    }

    public override void Abandon(Exception reason)
    {
        ReleasePlace();
        _completion.TrySetException(reason);

        // Only a stopping isolate abandons calls, and its closing token is cancelled next (on the thread pool). The
        // token source of the function's CancellationToken parameter must stay linked to it until then, so code still
        // waiting on that token (a channel read, a delay) is cancelled and lets go of the isolate's continuation:
        // disposing it here cut the link, and a channel the host keeps then pinned the closed isolate forever.
        Interlocked.Exchange(ref _isolateTokenSource, null);
        Release();
    }

    private void AwaitResult(object? returned, TargetPlan target)
    {
        Task task;
        try
        {
            task = TargetPlan.AsTask(returned);
        }
        catch (Exception ex)
        {
            FailFromIsolateCode(ex);
            return;
        }

        if (task.IsCompleted)
        {
            OnTaskCompleted(task, target);
            return;
        }

        // From here on the isolate keeps only the pending call, which lets go of this item when the caller's task is done.
        var pending = new PendingCall(_engine, task, target, Volatile.Read(ref _isolateTokenSource), this);
        _pendingCall = pending;
        pending.Start(); // takes the in-flight lock: a full fence between the write above and the read below

        // The caller may have left meanwhile (its token, its isolate's closing), before it could see the pending call:
        // a completion (an interlocked write) before the read of _pendingCall there, or after the fence here.
        if (_completion.Task.IsCompleted)
        {
            pending.Detach();
            ReleaseCallerSide();
        }
    }

    void IPendingCaller.Completed(Task task, TargetPlan target)
    {
        try
        {
            OnTaskCompleted(task, target);
        }
        catch (Exception ex)
        {
            Fail(ExceptionTransfer.ToCaller(ex, _engine.Owner.Id, _engine.Owner.Name));
        }
    }

    private void OnTaskCompleted(Task task, TargetPlan target)
    {
        if (task.IsFaulted)
        {
            AggregateException aggregate = task.Exception!;
            FailFromIsolateCode(aggregate.InnerExceptions.Count == 1 ? aggregate.InnerExceptions[0] : aggregate);
            return;
        }

        if (task.IsCanceled)
        {
            Cancelled();
            return;
        }

        if (_plan.Shape is ResultShape.Task or ResultShape.ValueTask)
        {
            Succeed(default!);
            return;
        }

        object? result;
        try
        {
            result = task is Task<TResult> typed && _plan.ResultCodec is null ? typed.Result : target.ResultOf(task);
        }
        catch (Exception ex)
        {
            FailFromIsolateCode(ex);
            return;
        }

        CompleteWith(result, target);
    }

    /// <summary>Hands the function's result to the caller: as it is, or encoded by the isolate and rebuilt as the caller's type.</summary>
    private void CompleteWith(object? returned, TargetPlan target)
    {
        if (_plan.ResultCodec is null)
        {
            Succeed((TResult)returned!);
            return;
        }

        byte[] bytes;
        object[]? attachments;
        try
        {
            bytes = Payload.Encode([target.ResultCodec!], [returned], out attachments);
        }
        catch (Exception ex)
        {
            Fail(ExceptionTransfer.ToCaller(ex, _engine.Owner.Id, _engine.Owner.Name));
            return;
        }

        object? result;
        try
        {
            result = Payload.Decode(bytes, _plan.ResultCodec, attachments);
        }
        catch (Exception ex)
        {
            // Rebuilding the caller's own types ran the caller's code (constructors, GetHashCode for sets).
            Fail(ex as IsolateException ?? new IsolateSerializationException($"Rebuilding the result as {_plan.ResultType} failed: {ex.GetType().Name}: {ex.Message}", ex));
            return;
        }

        Succeed((TResult)result!);
    }

    private object?[] BuildArguments(TargetPlan target)
    {
        int count = _plan.ArgumentCodecs.Length;
        var arguments = new object?[count];
        object?[]? decoded = null;
        if (_payload is not null)
        {
            decoded = new object?[_plan.EncodedArgumentCount];
            Span<Codec> codecs = new Codec[_plan.EncodedArgumentCount];
            int k = 0;
            for (int i = 0; i < count; i++)
            {
                if (target.ArgumentCodecs[i] is { } codec)
                {
                    codecs[k++] = codec;
                }
            }

            Payload.Decode(_payload, codecs, decoded, _attachments);
        }

        int next = 0;
        for (int i = 0; i < count; i++)
        {
            if (_plan.TokenParameters[i])
            {
                arguments[i] = Volatile.Read(ref _isolateTokenSource)?.Token ?? new CancellationToken(canceled: true);
            }
            else if (_plan.ArgumentCodecs[i] is not null)
            {
                arguments[i] = decoded![next++];
            }
            else
            {
                arguments[i] = _args.Get(i);
            }
        }

        return arguments;
    }

    private void FailFromIsolateCode(Exception exception)
    {
        if (exception is OperationCanceledException &&
            (_cancellation.IsCancellationRequested || _isolateTokenSource?.IsCancellationRequested == true))
        {
            Cancelled();
            return;
        }

        Fail(ExceptionTransfer.ToRemote(exception, _engine.Owner.Id, _engine.Owner.Name));
    }

    private void OnCallerCancelled(CancellationToken token)
    {
        _completion.TrySetCanceled(token);
        OnCallerLeft();
    }

    private void OnCallingIsolateClosed()
    {
        Isolate caller = _callingIsolate!;
        Isolate owner = _engine.Owner;
        if (_completion.TrySetException(new IsolateClosedException(caller.Id, caller.Name,
            $"Isolate '{caller.Name}' ({caller.Id}) closed, so its call of {_plan.DisplayName} in isolate '{owner.Name}' ({owner.Id}) ended for it (made before or " +
            $"while it closed): nobody is left to take the result. The call's CancellationToken (if any) is cancelled in '{owner.Name}', and its result is dropped.")))
        {
            OnCallerLeft();
        }
    }

    /// <summary>The caller's task was completed from the caller's side (its token, its isolate's closing), while the call may still be queued or running.</summary>
    private void OnCallerLeft()
    {
        if (Volatile.Read(ref _gate) is WaitingIn waiting && waiting.Gate.Remove(this))
        {
            Release(); // it waited for room in the queue and will never be queued: undo its registrations now
        }

        _telemetry?.End(_engine.Owner, _completion.Task);
        if (Volatile.Read(ref _pendingCall) is { } pending)
        {
            // The function's task is still running in the isolate: the isolate lets go of this item now, not when it ends.
            pending.Detach();
            ReleaseCallerSide();
        }

        if (Volatile.Read(ref _isolateTokenSource) is { } source)
        {
            _engine.Post(static s => CancelIgnoringDisposal((CancellationTokenSource)s!), source);
        }
    }

    private void Succeed(TResult result)
    {
        _completion.TrySetResult(result);
        Release();
    }

    private void Fail(Exception exception)
    {
        _completion.TrySetException(exception);
        Release();
    }

    private void Cancelled()
    {
        _completion.TrySetCanceled(_cancellation.IsCancellationRequested ? _cancellation : CancellationToken.None);
        Release();
    }

    private static void CancelIgnoringDisposal(CancellationTokenSource source)
    {
        try
        {
            source.Cancel(); // on the isolate's thread: callbacks the isolate registered run there
        }
        catch (ObjectDisposedException)
        {
            // the call finished before the cancellation reached the isolate
        }
    }

    private void Release()
    {
        _telemetry?.End(_engine.Owner, _completion.Task);
        Interlocked.Exchange(ref _isolateTokenSource, null)?.Dispose();
        ReleaseCallerSide();
    }

    /// <summary>
    /// Undoes the registrations on the caller's tokens. Also when the caller left a pending call, whose function still
    /// uses the isolate's token source (the pending call disposes that when the function's task completes).
    /// </summary>
    private void ReleaseCallerSide()
    {
        _registration.Unregister(); // never waits, so also safe inside the registration's own callback
        if (_moreRegistrations is { } registrations)
        {
            foreach (CancellationTokenRegistration registration in registrations)
            {
                registration.Unregister();
            }
        }
    }

    void IInFlightCall.Abandon(Exception reason) => Abandon(reason);
}
