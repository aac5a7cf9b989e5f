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
/// <typeparam name="TArgs">The arguments, in their caller-side static types.</typeparam>
/// <typeparam name="TResult">The caller's result type (an internal unit type for calls that return nothing).</typeparam>
internal sealed class CallItem<TArgs, TResult> : WorkItem, IInFlightCall, IGatedCall
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
    private CancellationTokenRegistration _registration;
    private CancellationTokenRegistration[]? _tokenArgumentRegistrations;
    private CancellationTokenSource? _isolateTokenSource;
    private TargetPlan? _target;
    private Task? _pending;
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

    /// <summary>Links the caller's tokens to this call; false when one is already cancelled (the task then is too).</summary>
    public bool RegisterCancellation()
    {
        if (_cancellation.CanBeCanceled)
        {
            _registration = _cancellation.UnsafeRegister(static (state, token) => ((CallItem<TArgs, TResult>)state!).OnCallerCancelled(token), this);
        }

        if (_plan.HasTokenParameter)
        {
            var registrations = new List<CancellationTokenRegistration>();
            for (int i = 0; i < _plan.TokenParameters.Length; i++)
            {
                if (_plan.TokenParameters[i] && _args.Get(i) is CancellationToken { CanBeCanceled: true } token && token != _cancellation)
                {
                    registrations.Add(token.UnsafeRegister(static (state, t) => ((CallItem<TArgs, TResult>)state!).OnCallerCancelled(t), this));
                }
            }

            _tokenArgumentRegistrations = [.. registrations];
        }

        if (_completion.Task.IsCompleted)
        {
            Release(); // a token was already cancelled: undo the registrations made so far
            return false;
        }

        return true;
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

        try
        {
            _target = _engine.GetTarget(_plan);
        }
        catch (Exception ex)
        {
            Fail(ExceptionTransfer.ToCaller(ex, _engine.Owner.Id, _engine.Owner.Name));
            return;
        }

        if (_telemetry is not { Trace: not null } telemetry)
        {
            Invoke(_target);
            return;
        }

        // The call's activity is current while user code runs (and flows into what it awaits); the isolate's thread
        // gets its previous activity back afterwards, so the next item does not inherit it.
        Activity? previous = telemetry.StartActivity(_engine.Owner, _plan);
        try
        {
            Invoke(_target);
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
                CompleteWith(returned);
                break;
            case ResultShape.Void:
                Succeed(default!);
                break;
            default:
                AwaitResult(returned);
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

    private void AwaitResult(object? returned)
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
            OnTaskCompleted(task);
            return;
        }

        _pending = task;
        _engine.TrackInFlight(this);

        // Resumes on the isolate's thread (posted to its queue), so the result is read there.
        new ResumeOnIsolate(task, _engine).UnsafeOnCompleted(OnPendingCompleted);
    }

    private void OnPendingCompleted()
    {
        Debug.Assert(InProcessEngine.OnThisThread == _engine, "async results are read on the isolate's thread");
        _engine.UntrackInFlight(this);
        if (_pending is { } task)
        {
            _pending = null;
            try
            {
                OnTaskCompleted(task);
            }
            catch (Exception ex)
            {
                Fail(ExceptionTransfer.ToCaller(ex, _engine.Owner.Id, _engine.Owner.Name));
            }
        }
    }

    private void OnTaskCompleted(Task task)
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
            result = task is Task<TResult> typed && _plan.ResultCodec is null ? typed.Result : _target!.ResultOf(task);
        }
        catch (Exception ex)
        {
            FailFromIsolateCode(ex);
            return;
        }

        CompleteWith(result);
    }

    /// <summary>Hands the function's result to the caller: as it is, or encoded by the isolate and rebuilt as the caller's type.</summary>
    private void CompleteWith(object? returned)
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
            bytes = Payload.Encode([_target!.ResultCodec!], [returned], out attachments);
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
        if (Volatile.Read(ref _gate) is WaitingIn waiting && waiting.Gate.Remove(this))
        {
            Release(); // it waited for room in the queue and will never be queued: undo its registrations now
        }

        _telemetry?.End(_engine.Owner, _completion.Task);
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

        _registration.Unregister();
        Interlocked.Exchange(ref _isolateTokenSource, null)?.Dispose();
        if (_tokenArgumentRegistrations is { } registrations)
        {
            foreach (CancellationTokenRegistration registration in registrations)
            {
                registration.Unregister();
            }
        }
    }

    void IInFlightCall.Abandon(Exception reason) => Abandon(reason);
}
