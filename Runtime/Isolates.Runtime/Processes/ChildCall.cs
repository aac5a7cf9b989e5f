using Isolates.Calls;
using Isolates.Wire;

namespace Isolates.Processes;

/// <summary>A call waiting for its child's answer; completed exactly once (answer, cancellation, or the child's end).</summary>
internal interface IChildCall
{
    void Answer(FrameType type, byte[] body);

    void Fail(Exception reason);
}

/// <summary>The host's side of one call to a child-process isolate.</summary>
internal sealed class ChildCall<TResult> : IChildCall
{
    private readonly ChildLink _link;
    private readonly long _id;
    private readonly Codec? _resultCodec;
    private readonly TaskCompletionSource<TResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenRegistration _registration;

    public ChildCall(ChildLink link, long id, Codec? resultCodec)
    {
        _link = link;
        _id = id;
        _resultCodec = resultCodec;
    }

    public Task<TResult> Task => _completion.Task;

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
        if (_link.Forget(_id, this))
        {
            _completion.TrySetCanceled(token);
            _link.SendCancel(_id); // the child cancels the function's token; its late answer is ignored
        }
    }

    public void Answer(FrameType type, byte[] body)
    {
        _registration.Unregister();
        if (type == FrameType.Result)
        {
            if (_resultCodec is null)
            {
                _completion.TrySetResult(default!);
                return;
            }

            try
            {
                _completion.TrySetResult((TResult)Payload.Decode(body, _resultCodec)!);
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

    public void Fail(Exception reason)
    {
        _registration.Unregister();
        _completion.TrySetException(reason);
    }
}
