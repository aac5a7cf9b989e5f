using System.Threading.Tasks.Sources;

namespace Isolates.Channels;

/// <summary>
/// One wait on a <see cref="RingChannel{T}"/> (for an item, for room, or a blocked write carrying its item), used once
/// and dropped: nothing of the awaiting code (an isolate's state machine) stays reachable from the channel after the
/// wait is over, which a reused waiter would allow. Whoever first claims it (a wake, the channel's completion, or the
/// token) completes it; continuations always run asynchronously (posted to the awaiter's context, if it captured
/// one), so the thread that completes it never runs the waiting code.
/// </summary>
internal sealed class RingWaiter : IValueTaskSource<bool>, IValueTaskSource
{
    private ManualResetValueTaskSourceCore<bool> _core;
    private CancellationTokenRegistration _registration;
    private int _claimed;

    public RingWaiter(object owner, bool reportsErrors)
    {
        Owner = owner;
        ReportsErrors = reportsErrors;
        _core.RunContinuationsAsynchronously = true;
    }

    /// <summary>The channel waited on (for the cancellation callback, which must not capture it in a closure per wait).</summary>
    public object Owner { get; }

    /// <summary>
    /// True for a public <c>WaitToReadAsync</c>/<c>WaitToWriteAsync</c>, which throw the completion error; false for the
    /// waits inside <c>ReadAsync</c>, which learn "completed" as false and throw their own exception.
    /// </summary>
    public bool ReportsErrors { get; }

    /// <summary>Whether someone claimed it already (completed it, or is about to).</summary>
    public bool IsClaimed => Volatile.Read(ref _claimed) != 0;

    /// <summary>The wait, for the caller to await.</summary>
    public ValueTask<bool> Task => new(this, _core.Version);

    /// <summary>The blocked write, for the caller to await.</summary>
    public ValueTask WriteTask => new(this, _core.Version);

    /// <summary>
    /// Makes <paramref name="token"/> cancel the wait, calling <paramref name="onCancelled"/> to take it off the
    /// channel's lists. Must be called before the waiter is published on a list, so that no wake can claim it before
    /// there is a registration to undo. A token that cannot be cancelled, or the never-cancelled one the channel ends
    /// pass, costs nothing.
    /// </summary>
    public void CancelWith(CancellationToken token, Action<RingWaiter> onCancelled)
    {
        if (!token.CanBeCanceled || token == NeverCancelled.Token)
        {
            return;
        }

        _registration = token.UnsafeRegister(
            static (state, cancelled) =>
            {
                var (waiter, onCancelled) = ((RingWaiter, Action<RingWaiter>))state!;
                if (waiter.TryClaim())
                {
                    onCancelled(waiter);
                    waiter._core.SetException(new OperationCanceledException(cancelled));
                }
            },
            (this, onCancelled));
    }

    /// <summary>
    /// Takes the right to complete the waiter; false if a wake, completion or cancellation took it first. A claimed
    /// waiter can no longer be cancelled, and must be completed by its claimer.
    /// </summary>
    public bool TryClaim()
    {
        if (Interlocked.Exchange(ref _claimed, 1) != 0)
        {
            return false;
        }

        _registration.Unregister(); // never Dispose: it would wait for a running callback, which may be waiting for our lock
        return true;
    }

    /// <summary>Completes a waiter this caller claimed.</summary>
    public void SetResult(bool result) => _core.SetResult(result);

    /// <summary>Fails a waiter this caller claimed.</summary>
    public void SetException(Exception error) => _core.SetException(error);

    /// <summary>Claims and completes; false if it was already claimed.</summary>
    public bool TrySetResult(bool result)
    {
        if (!TryClaim())
        {
            return false;
        }

        _core.SetResult(result);
        return true;
    }

    /// <summary>Claims and fails; false if it was already claimed.</summary>
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

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
