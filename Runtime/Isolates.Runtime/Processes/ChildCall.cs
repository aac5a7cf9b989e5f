using Isolates.Calls;
using Isolates.Wire;

namespace Isolates.Processes;

/// <summary>A call waiting for its child's answer; completed exactly once (answer, cancellation, or the child's end).</summary>
internal interface IChildCall
{
    /// <summary>On the pipe's reader: the caller's continuation runs on this thread (see ChildLink's reading role).</summary>
    void Answer(FrameType type, byte[] body);

    /// <summary>Fails the call; its continuations run on the thread pool.</summary>
    void Fail(Exception reason);
}

/// <summary>The host's side of one call to a child-process isolate.</summary>
internal sealed class ChildCall<TResult> : IChildCall, IGatedCall
{
    // IsolateOptions.MaxQueuedCalls for a child: the host's gate, whose place a call holds from its send until it is
    // answered (the child's running call included), and the frame a waiting call sends once admitted.
    private readonly Lock _sendLock = new();
    private CallGate? _gate;
    private int _placeHeld;
    private bool _sent;
    private byte[]? _header;
    private byte[]? _payload;

    private readonly ChildLink _link;
    private readonly long _id;
    private readonly Codec? _resultCodec;
    // Continuations run where the task completes: the answer's on the pipe's reader, which saves the caller a hop to the
    // thread pool (some 8 µs of a round trip), and which the link keeps safe by letting a standby thread take over the
    // pipe when a continuation keeps the reader away. Every other completion (cancellation, refusal, the child's end) is
    // made on the thread pool, so no continuation runs inside a CancellationTokenSource.Cancel or holds up the others.
    private readonly TaskCompletionSource<TResult> _completion = new();
    private int _finished; // the outcome is decided (the completion itself may still be on its way to the thread pool)
    private bool _handedOut; // the caller has the task: continuations may be registered
    private CancellationTokenRegistration _registration;

    public ChildCall(ChildLink link, long id, Codec? resultCodec)
    {
        _link = link;
        _id = id;
        _resultCodec = resultCodec;
    }

    public Task<TResult> Task => _completion.Task;

    /// <summary>
    /// The proxies exported for this call (<see cref="HostObjects"/> counted a send of each): given back if the call is
    /// never sent, or the host would keep the objects for a child that never heard of them.
    /// </summary>
    public ObjectSpec[] Exports { get; init; } = [];

    /// <summary>The channel ends bridged for the call: ended if the call is never sent.</summary>
    public ChannelSpec[] Channels { get; init; } = [];

    public void WatchCancellation(CancellationToken token)
    {
        if (token.CanBeCanceled)
        {
            _registration = token.UnsafeRegister(static (state, t) => ((ChildCall<TResult>)state!).OnCancelled(t), this);
            if (_completion.Task.IsCompleted)
            {
                _registration.Unregister(); // answered before it was watched: the token must not keep it
            }
        }
    }

    private void OnCancelled(CancellationToken token)
    {
        if (!_link.Forget(_id, this))
        {
            return;
        }

        Volatile.Write(ref _finished, 1);
        Complete(static (c, t) => c._completion.TrySetCanceled((CancellationToken)t!), token);
        if (_gate is { } gate && Volatile.Read(ref _placeHeld) == 0)
        {
            gate.Remove(this); // it waited for a place and was never sent
        }

        bool sent;
        lock (_sendLock)
        {
            sent = _sent; // a send in progress finishes first, so a Cancel frame always follows its call
        }

        if (sent)
        {
            _link.SendCancel(_id); // the child cancels the function's token; its late answer is ignored
        }
        else
        {
            _link.Unsend(Exports, Channels); // and no later Send sends it: it saw the call finished
        }
    }

    /// <summary>A call that must wait for a place (MaxQueuedCalls): remembers its frame for when it is admitted.</summary>
    public void WaitForPlace(CallGate gate, byte[] header, byte[] payload)
    {
        _gate = gate;
        _header = header;
        _payload = payload;
    }

    /// <summary>Holds a place in the gate until the call completes, however it completes.</summary>
    public void HoldPlace(CallGate gate)
    {
        _gate = gate;
        Volatile.Write(ref _placeHeld, 1);
        _ = _completion.Task.ContinueWith(static (_, s) => ((ChildCall<TResult>)s!).ReleasePlace(), this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private void ReleasePlace()
    {
        if (Interlocked.Exchange(ref _placeHeld, 0) == 1)
        {
            _gate!.Release();
        }
    }

    /// <summary>Sends the call unless it completed (cancelled) first; false when the pipe is gone.</summary>
    public bool Send(Func<bool> send)
    {
        lock (_sendLock)
        {
            if (Volatile.Read(ref _finished) != 0)
            {
                return true; // cancelled before it went out: never sent, never run
            }

            _sent = true;
            return send();
        }
    }

    bool IGatedCall.IsCompleted => Volatile.Read(ref _finished) != 0;

    void IGatedCall.Admit(CallGate gate)
    {
        HoldPlace(gate);
        _link.SendAdmitted(this, _id, _header!, _payload!);
        _header = null;
        _payload = null;
    }

    void IGatedCall.Refuse(Exception reason)
    {
        if (_link.Forget(_id, this))
        {
            _registration.Unregister();
            Volatile.Write(ref _finished, 1);
            _link.Unsend(Exports, Channels); // refused while it waited for a place: never sent
            Complete(static (c, r) => c._completion.TrySetException((Exception)r!), reason);
        }
    }

    public void Answer(FrameType type, byte[] body)
    {
        _registration.Unregister();
        Volatile.Write(ref _finished, 1);
        if (type is FrameType.Result or FrameType.ResultWithObjects)
        {
            if (_resultCodec is null)
            {
                _completion.TrySetResult(default!);
                return;
            }

            try
            {
                _completion.TrySetResult(type == FrameType.Result
                    ? (TResult)Payload.Decode(body, _resultCodec)!
                    : DecodeWithObjects(body));
            }
            catch (Exception ex)
            {
                _completion.TrySetException(ex as IsolateException ?? new IsolateSerializationException($"Rebuilding the result as {typeof(TResult)} failed: {ex.GetType().Name}: {ex.Message}", ex));
            }

            return;
        }

        Exception? error;
        try
        {
            error = RemoteError.Decode(body, _link.IsolateId, _link.IsolateName);
        }
        catch (Exception ex)
        {
            error = new IsolateSerializationException($"The child-process isolate's error could not be read: {ex.Message}", ex);
        }

        if (error is null)
        {
            _completion.TrySetCanceled();
        }
        else
        {
            _completion.TrySetException(error);
        }
    }

    /// <summary>A result holding proxies of this process's objects the child sent back: they are the host's own references again.</summary>
    private TResult DecodeWithObjects(byte[] body)
    {
        var reader = new MessagePack.MessagePackReader(body);
        SentObject[] sent = SentObject.Read(ref reader);
        return (TResult)Payload.Decode(body.AsMemory((int)reader.Consumed), _resultCodec!, _link.Objects.Receive(sent))!;
    }

    public void Fail(Exception reason)
    {
        _registration.Unregister();
        Volatile.Write(ref _finished, 1);
        Complete(static (c, r) => c._completion.TrySetException((Exception)r!), reason);
    }

    /// <summary>
    /// A completion other than the answer: on the thread pool, or at once while nothing can wait for the task yet (it
    /// was not handed out; the gate's own continuation runs synchronously and holds no user code).
    /// </summary>
    private void Complete(Action<ChildCall<TResult>, object?> complete, object? state)
    {
        if (!Volatile.Read(ref _handedOut))
        {
            complete(this, state);
            return;
        }

        ThreadPool.UnsafeQueueUserWorkItem(static s => s.Complete(s.Call, s.State), (Call: this, Complete: complete, State: state), preferLocal: false);
    }

    /// <summary>The task for the caller; from now on a completion other than the answer runs continuations on the thread pool.</summary>
    public Task<TResult> HandOut()
    {
        Volatile.Write(ref _handedOut, true);
        return _completion.Task;
    }
}
