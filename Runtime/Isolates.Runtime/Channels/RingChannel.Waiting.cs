using System.Runtime.InteropServices;
using Isolates.Diagnostics;
using Isolates.Dispatcher;

namespace Isolates.Channels;

/// <summary>
/// Waiting and waking. The lists of waiters are guarded by a lock that only the slow paths take; the fast paths look
/// at counters instead. No wake is lost: a waiter first counts itself (a full fence), then looks at the positions
/// again; a writer or reader first moves its position (a compare-and-swap, also a full fence), then looks at the
/// counter, so whichever comes second sees the other. Writes that find the ring full wait in order with their items
/// (<see cref="BlockedWrite"/>) and are put into the ring by whoever makes the room, first come first in, before any
/// newer write: the framework's order. Waiters are always completed outside the lock.
/// </summary>
internal sealed partial class RingChannel<T> : ITurnEndAction
{
    /// <summary>
    /// How many times a reader looks again before it waits (~1.5 us in all: long enough for the reply of a peer that is
    /// running on another core, short enough not to matter when nothing comes).
    /// </summary>
    /// <remarks>
    /// Measured on the 2-core benchmark machine (docs/performance.md): without it the host-isolate ping-pong took ~5 us
    /// p50, with 8 looks ~1.2-1.5 us, and 24 wider looks bought nothing more; streaming rates did not move either way.
    /// </remarks>
    private const int ReaderSpins = 8;

    /// <summary>The pause between two looks (<see cref="Thread.SpinWait"/> iterations, ~170 ns here).</summary>
    private const int ReaderSpinWidth = 4;

    /// <summary>
    /// .NET documents interlocked operations as full fences; on weakly ordered processors an explicit fence before the
    /// fast paths read a counter makes that independent of how a given JIT emits them. x86/x64 need none.
    /// </summary>
    private static readonly bool WeaklyOrdered = RuntimeInformation.ProcessArchitecture is not (Architecture.X86 or Architecture.X64);

    private readonly Lock _sync = new();
    private readonly List<RingWaiter> _readers = []; // waiting for an item
    private readonly List<RingWaiter> _writers = []; // WaitToWriteAsync: waiting for room
    private readonly List<BlockedWrite> _blocked = []; // WriteAsync: waiting with their items, in arrival order
    private int _readersWaiting; // _readers.Count
    private int _writersWaiting; // _writers.Count + _blocked.Count
    private int _blockedCount; // _blocked.Count: while not zero, newer writes queue behind

    /// <summary>How many readers and writers wait now (for tests).</summary>
    internal (int Readers, int Writers) Waiting => (Volatile.Read(ref _readersWaiting), Volatile.Read(ref _writersWaiting));

    /// <summary>
    /// Waits until an item can be read (true: with one reader, its next TryRead succeeds) or the channel is completed
    /// and drained (false, or with <paramref name="reportsErrors"/> the completion error).
    /// </summary>
    private ValueTask<bool> WaitToRead(CancellationToken cancellationToken, bool reportsErrors)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<bool>(cancellationToken);
        }

        if (ItemReady() || SpinUntilItemReady())
        {
            return new ValueTask<bool>(true);
        }

        if (IsDrained)
        {
            return Completed(Volatile.Read(ref _doneWriting)!, reportsErrors);
        }

        Interleave.Point("ring.waitRead.empty");
        var waiter = new RingWaiter(this, reportsErrors);
        waiter.CancelWith(cancellationToken, static w => ((RingChannel<T>)w.Owner).Remove(w));
        lock (_sync)
        {
            if (!waiter.IsClaimed) // else cancelled already
            {
                _readers.Add(waiter);
                Interlocked.Exchange(ref _readersWaiting, _readers.Count);
            }
        }

        Interleave.Point("ring.waitRead.listed"); // counted: a write from here on sees us
        if (HasClaimedItems || IsClosed)
        {
            WakeReaders(); // raced with a write or completion that did not see us yet
        }

        return waiter.Task;
    }

    /// <summary>Waits until a write may succeed (true) or the channel is completed (false, or the completion error).</summary>
    private ValueTask<bool> WaitToWrite(CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<bool>(cancellationToken);
        }

        if (Volatile.Read(ref _doneWriting) is { } done)
        {
            return Completed(done, reportsErrors: true);
        }

        if (HasSpace && Volatile.Read(ref _blockedCount) == 0)
        {
            return new ValueTask<bool>(true);
        }

        Interleave.Point("ring.waitWrite.full");
        var waiter = new RingWaiter(this, reportsErrors: true);
        waiter.CancelWith(cancellationToken, static w => ((RingChannel<T>)w.Owner).Remove(w));
        lock (_sync)
        {
            if (!waiter.IsClaimed)
            {
                _writers.Add(waiter);
                Interlocked.Exchange(ref _writersWaiting, _writers.Count + _blocked.Count);
            }
        }

        Interleave.Point("ring.waitWrite.listed");
        if (HasSpace || IsClosed)
        {
            ReleaseWriters(); // raced with a read or completion that did not see us yet
        }

        return waiter.Task;
    }

    /// <summary>A write that found the ring full (or others queued): waits with its item until it is put in, or refused.</summary>
    private ValueTask Block(T item, CancellationToken cancellationToken)
    {
        var waiter = new RingWaiter(this, reportsErrors: false);
        var blocked = new BlockedWrite(waiter, item);
        waiter.CancelWith(cancellationToken, static w => ((RingChannel<T>)w.Owner).Remove(w));
        lock (_sync)
        {
            if (!waiter.IsClaimed)
            {
                _blocked.Add(blocked);
                Volatile.Write(ref _blockedCount, _blocked.Count);
                Interlocked.Exchange(ref _writersWaiting, _writers.Count + _blocked.Count);
            }
        }

        Interleave.Point("ring.block.listed");
        if (HasSpace || IsClosed)
        {
            ReleaseWriters(); // there was room (or completion) before we were counted: go in (or be refused) now
        }

        return waiter.WriteTask;
    }

    /// <summary>True when the item at the read position is filled; waits out a writer that claimed it and is filling it.</summary>
    private bool ItemReady()
    {
        var spin = default(SpinWait);
        while (true)
        {
            long head = Volatile.Read(ref _head.Value);
            if (Volatile.Read(ref SlotAt(head).Sequence) == Filled(head))
            {
                return true;
            }

            if ((Volatile.Read(ref _tail.Value) & ~ClosedBit) <= head)
            {
                return false; // nothing claimed beyond the read position
            }

            spin.SpinOnce(sleep1Threshold: -1); // nanoseconds, unless that writer was preempted mid-write
        }
    }

    private bool SpinUntilItemReady()
    {
        for (int i = 0; i < ReaderSpins; i++)
        {
            Thread.SpinWait(ReaderSpinWidth);
            if (ItemReady())
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>After a write: wakes readers if any wait.</summary>
    private void Written()
    {
        Exception? refused = null;
        Written(ref refused);
        ThrowFirst(refused);
    }

    private void Written(ref Exception? refused)
    {
        if (WeaklyOrdered)
        {
            Interlocked.MemoryBarrier();
        }

        Interleave.Point("ring.written"); // moved the write position; about to look for waiting readers
        if (Volatile.Read(ref _readersWaiting) != 0)
        {
            WakeReaders(ref refused);
        }
    }

    /// <summary>
    /// After a read: completes the channel if that was the last item, and gives waiting writers the room: at once when
    /// the ring has drained to half or the reader is not an isolate's thread, else when the reading isolate's turn ends.
    /// </summary>
    private void Taken()
    {
        if (WeaklyOrdered)
        {
            Interlocked.MemoryBarrier();
        }

        Interleave.Point("ring.taken"); // moved the read position; about to look for completion and waiting writers
        if (Volatile.Read(ref _doneWriting) is not null && IsDrained)
        {
            CompleteCompletion();
        }

        if (Volatile.Read(ref _writersWaiting) != 0 && (Count <= _lowWater || !TurnEnd.TryDefer(this)))
        {
            ReleaseWriters();
        }
    }

    void ITurnEndAction.OnTurnEnd()
    {
        if (Volatile.Read(ref _writersWaiting) != 0)
        {
            ReleaseWriters();
        }
    }

    private void WakeReaders()
    {
        Exception? refused = null;
        WakeReaders(ref refused);
        ThrowFirst(refused);
    }

    private void WakeReaders(ref Exception? refused)
    {
        RingWaiter[] woken;
        lock (_sync)
        {
            if (_readers.Count == 0)
            {
                return;
            }

            woken = [.. _readers];
            _readers.Clear();
            Volatile.Write(ref _readersWaiting, 0);
        }

        Interleave.Point("ring.wakeReaders.taken");

        CompleteAll(woken, this, static (ring, waiter) => ring.Release(waiter, reader: true), ref refused);
    }

    /// <summary>
    /// Completes every waiter even if completing one throws (a continuation's own SynchronizationContext can refuse
    /// the post, e.g. a UI context whose window is gone), keeping the first such exception in <paramref name="refused"/>;
    /// the public operation throws it at its end (<see cref="ThrowFirst"/>), as the framework channel would, but one
    /// broken awaiter never strands the others.
    /// </summary>
    private static void CompleteAll<TWaiter, TState>(IReadOnlyList<TWaiter>? waiters, TState state, Action<TState, TWaiter> complete, ref Exception? refused)
    {
        if (waiters is null)
        {
            return;
        }

        for (int i = 0; i < waiters.Count; i++)
        {
            try
            {
                complete(state, waiters[i]);
            }
            catch (Exception ex)
            {
                refused ??= ex;
            }
        }
    }

    private static void ThrowFirst(Exception? refused)
    {
        if (refused is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(refused);
        }
    }

    /// <summary>
    /// Puts blocked writes into the ring, oldest first, as far as there is room; once none is left blocked, wakes the
    /// writers waiting for room. After completion, refuses every blocked write and releases every waiting writer.
    /// </summary>
    private void ReleaseWriters()
    {
        Exception? refused = null;
        ReleaseWriters(ref refused);
        ThrowFirst(refused);
    }

    private void ReleaseWriters(ref Exception? refused)
    {
        var settled = default(SettledWrites);
        BlockedWrite[]? turnedAway = null;
        RingWaiter[]? woken = null;
        Exception? done;
        lock (_sync)
        {
            done = _doneWriting;
            if (done is not null)
            {
                turnedAway = [.. _blocked];
                _blocked.Clear();
            }
            else
            {
                MoveBlockedWrites(ref settled);
            }

            if (_blocked.Count == 0 && _writers.Count > 0)
            {
                woken = [.. _writers];
                _writers.Clear();
            }

            Volatile.Write(ref _blockedCount, _blocked.Count);
            Volatile.Write(ref _writersWaiting, _writers.Count + _blocked.Count);
        }

        Interleave.Point("ring.releaseWriters.taken");
        settled.Complete(this, ref refused);
        CompleteAll(turnedAway, done!, static (error, blocked) => blocked.Waiter.TrySetException(ClosedError(error)), ref refused);
        CompleteAll(woken, this, static (ring, waiter) => ring.Release(waiter, reader: false), ref refused);
    }

    /// <summary>
    /// Under the lock: puts blocked writes in, oldest first, while there is room. Each is claimed tentatively while its
    /// item goes in, so its token can still cancel it if the room is taken by someone else after all; cancelled ones are
    /// dropped. What was settled is completed by the caller, outside the lock.
    /// </summary>
    private void MoveBlockedWrites(ref SettledWrites settled)
    {
        int count = 0;
        for (; count < _blocked.Count && HasSpace; count++)
        {
            BlockedWrite blocked = _blocked[count];
            if (!blocked.Waiter.TryClaimTentatively())
            {
                continue; // cancelled: its callback is waiting for this lock to remove it; drop it here
            }

            Interleave.Point("ring.blocked.claimedTentatively");

            if (!TryEnqueueBlocked(blocked.Item))
            {
                // A write that had not seen the blocked ones took the room (a race of nanoseconds): stay first in line.
                if (blocked.Waiter.ReleaseTentativeClaim())
                {
                    (settled.Cancelled ??= []).Add(blocked.Waiter); // its token was cancelled meanwhile
                    count++;
                }

                break;
            }

            blocked.Waiter.ConfirmClaim();
            (settled.Written ??= []).Add(blocked.Waiter);
        }

        _blocked.RemoveRange(0, count);
    }

    /// <summary>
    /// Puts a blocked write's item in if there is room. Room counts from the read position, which a reader moves before
    /// it frees the slot: a slot taken but not yet freed is waited out (nanoseconds, unless that reader was preempted),
    /// because the reader may already have looked for blocked writers, before this one was counted, and will not come back.
    /// </summary>
    private bool TryEnqueueBlocked(T item)
    {
        var spin = default(SpinWait);
        WriteOutcome outcome;
        while ((outcome = TryEnqueue(item)) == WriteOutcome.Full && HasSpace)
        {
            spin.SpinOnce(sleep1Threshold: -1);
        }

        return outcome == WriteOutcome.Written;
    }

    /// <summary>Completes a woken waiter: "look again", or the outcome of completion once there is nothing more for it.</summary>
    private void Release(RingWaiter waiter, bool reader)
    {
        if (!waiter.TryClaim())
        {
            return; // cancelled meanwhile
        }

        Interleave.Point("ring.release.claimed");
        Exception? done = Volatile.Read(ref _doneWriting);
        if (reader ? ItemReady() || done is null : done is null)
        {
            waiter.SetResult(true); // a reader with no item ready and no completion: another reader took it; it looks again
        }
        else if (ReferenceEquals(done, DoneWithoutError) || !waiter.ReportsErrors)
        {
            waiter.SetResult(false);
        }
        else
        {
            waiter.SetException(done!); // WaitToReadAsync/WaitToWriteAsync throw the completion error itself, as the framework does
        }
    }

    /// <summary>Takes a cancelled waiter off whichever list holds it.</summary>
    private void Remove(RingWaiter waiter)
    {
        lock (_sync)
        {
            if (!_readers.Remove(waiter) && !_writers.Remove(waiter))
            {
                int index = _blocked.FindIndex(blocked => blocked.Waiter == waiter);
                if (index >= 0)
                {
                    _blocked.RemoveAt(index);
                }
            }

            Volatile.Write(ref _readersWaiting, _readers.Count);
            Volatile.Write(ref _blockedCount, _blocked.Count);
            Volatile.Write(ref _writersWaiting, _writers.Count + _blocked.Count);
        }
    }

    private static ValueTask<bool> Completed(Exception done, bool reportsErrors) =>
        ReferenceEquals(done, DoneWithoutError) || !reportsErrors ? new ValueTask<bool>(false) : ValueTask.FromException<bool>(done); // the completion error itself

    /// <summary>A write waiting with its item.</summary>
    private sealed class BlockedWrite(RingWaiter waiter, T item)
    {
        public RingWaiter Waiter { get; } = waiter;

        public T Item { get; } = item;
    }

    /// <summary>Blocked writes settled under the lock, to complete after it: those put in, and those found cancelled.</summary>
    private struct SettledWrites
    {
        public List<RingWaiter>? Written;
        public List<RingWaiter>? Cancelled;

        public readonly void Complete(RingChannel<T> ring, ref Exception? refused)
        {
            CompleteAll(Cancelled, 0, static (_, waiter) => waiter.SetCanceled(), ref refused);
            CompleteAll(Written, 0, static (_, waiter) => waiter.SetResult(true), ref refused);
            if (Written is not null)
            {
                ring.Written(ref refused); // readers may be waiting for what just went in
            }
        }
    }
}
