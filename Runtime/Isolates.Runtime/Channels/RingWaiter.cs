using System.Threading.Tasks.Sources;

namespace Isolates.Channels;

/// <summary>
/// One wait on a <see cref="RingChannel{T}"/>, used once and dropped: nothing of the awaiting code (an isolate's state
/// machine) stays reachable from the channel after the wait is over, which a reused waiter would allow. Completed at
/// most once, by a wake, by the channel's completion or by its token; continuations always run asynchronously (posted
/// to the awaiter's context), so the thread that completes it never runs the waiting code.
/// </summary>
internal sealed class RingWaiter : IValueTaskSource<bool>
{
    private ManualResetValueTaskSourceCore<bool> _core;
    private CancellationTokenRegistration _registration;
    private Action<RingWaiter>? _onCancelled;
    private int _completed;

    public RingWaiter(object owner)
    {
        Owner = owner;
        _core.RunContinuationsAsynchronously = true;
    }

    /// <summary>The channel waited on (for the cancellation callback, which must not capture it in a closure per wait).</summary>
    public object Owner { get; }

    /// <summary>The wait, for the caller to await.</summary>
    public ValueTask<bool> Task => new(this, _core.Version);

    /// <summary>
    /// Makes <paramref name="token"/> cancel the wait (after which <paramref name="onCancelled"/> takes it off the
    /// channel's list). A token that cannot be cancelled, or the never-cancelled one the channel ends pass, costs nothing.
    /// </summary>
    public void CancelWith(CancellationToken token, Action<RingWaiter> onCancelled)
    {
        if (!token.CanBeCanceled || token == NeverCancelled.Token)
        {
            return;
        }

        _onCancelled = onCancelled;
        _registration = token.UnsafeRegister(static (state, cancelled) => ((RingWaiter)state!).Cancel(cancelled), this);
    }

    /// <summary>Completes the wait with <paramref name="result"/>; false if it was already completed.</summary>
    public bool TrySetResult(bool result)
    {
        if (!TryClaim())
        {
            return false;
        }

        _core.SetResult(result);
        return true;
    }

    /// <summary>Fails the wait with <paramref name="error"/>; false if it was already completed.</summary>
    public bool TrySetException(Exception error)
    {
        if (!TryClaim())
        {
            return false;
        }

        _core.SetException(error);
        return true;
    }

    public bool GetResult(short token) => _core.GetResult(token);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    private bool TryClaim()
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
        {
            return false;
        }

        _registration.Unregister(); // never Dispose: it would wait for a running callback, which may be waiting for us
        return true;
    }

    private void Cancel(CancellationToken token)
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
        {
            return;
        }

        _onCancelled?.Invoke(this);
        _core.SetException(new OperationCanceledException(token));
    }
}
