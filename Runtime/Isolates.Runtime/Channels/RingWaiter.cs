using System.Threading.Tasks.Sources;
using Isolates.Diagnostics;

namespace Isolates.Channels;

/// <summary>
/// One wait on a <see cref="RingChannel{T}"/> (for an item, for room, or a blocked write carrying its item), used once
/// and dropped: nothing of the awaiting code (an isolate's state machine) stays reachable from the channel after the
/// wait is over, which a reused waiter would allow. Whoever first claims it (a wake, the channel's completion, or the
/// token) completes it; continuations always run asynchronously (posted to the awaiter's context, if it captured
/// one), so the thread that completes it never runs the waiting code. A blocked write is claimed tentatively while its
/// item is being put in, so that a cancellation arriving then is neither lost nor able to cancel a write that went in.
/// </summary>
internal sealed class RingWaiter : IValueTaskSource<bool>, IValueTaskSource
{
    private const int Pending = 0;
    private const int Claimed = 1;
    private const int Tentative = 2;

    private ManualResetValueTaskSourceCore<bool> _core;
    private CancellationTokenRegistration _registration;
    private CancellationToken _token;
    private int _state;
    private int _cancelRequested;

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
    public bool IsClaimed => Volatile.Read(ref _state) == Claimed;

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
        if (!token.CanBeCanceled || token == WaitToken.Never)
        {
            return;
        }

        _token = token;
        _registration = token.UnsafeRegister(
            static state =>
            {
                var (waiter, onCancelled) = ((RingWaiter, Action<RingWaiter>))state!;
                Volatile.Write(ref waiter._cancelRequested, 1); // seen by a tentative claimer when it lets go (below)
                Interleave.Point("waiter.cancel.flagged");
                if (waiter.TryClaim())
                {
                    onCancelled(waiter);
                    waiter.SetCanceled();
                }
            },
            (this, onCancelled));
    }

    /// <summary>
    /// Claims it for an attempt that may not succeed (putting a blocked write's item in): cancellation cannot complete
    /// it meanwhile, but is remembered. Follow with <see cref="ConfirmClaim"/> or <see cref="ReleaseTentativeClaim"/>.
    /// </summary>
    public bool TryClaimTentatively() => Interlocked.CompareExchange(ref _state, Tentative, Pending) == Pending;

    /// <summary>The attempt succeeded: the waiter is claimed for good, for its claimer to complete.</summary>
    public void ConfirmClaim()
    {
        Volatile.Write(ref _state, Claimed);
        _registration.Unregister();
    }

    /// <summary>
    /// The attempt failed: the waiter is pending (and cancellable) again. True when its token was cancelled meanwhile:
    /// the caller then holds the claim and must complete it with <see cref="SetCanceled"/>.
    /// </summary>
    public bool ReleaseTentativeClaim()
    {
        Interlocked.Exchange(ref _state, Pending); // a full fence before reading the flag, paired with the callback's
        Interleave.Point("waiter.tentative.released");
        return Volatile.Read(ref _cancelRequested) != 0 && TryClaim();
    }

    /// <summary>Completes a waiter this caller claimed as cancelled by its token.</summary>
    public void SetCanceled() => _core.SetException(new OperationCanceledException(_token));

    /// <summary>
    /// Takes the right to complete the waiter; false if a wake, completion or cancellation took it first. A claimed
    /// waiter can no longer be cancelled, and must be completed by its claimer.
    /// </summary>
    public bool TryClaim()
    {
        if (Interlocked.CompareExchange(ref _state, Claimed, Pending) != Pending)
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
