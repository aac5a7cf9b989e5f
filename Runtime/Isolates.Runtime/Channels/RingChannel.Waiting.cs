using Isolates.Dispatcher;

namespace Isolates.Channels;

/// <summary>
/// Waiting and waking. The lists of waiters are guarded by a lock that only the slow paths take; the fast paths look
/// at a counter instead. No wake is lost: a waiter first counts itself (a full fence), then looks at the positions
/// again; a writer or reader first moves its position (an interlocked exchange, also a full fence), then looks at the
/// counter. Whichever comes second sees the other. Waiters are always completed outside the lock.
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

    private readonly Lock _sync = new();
    private readonly List<RingWaiter> _readers = [];
    private readonly List<RingWaiter> _writers = [];
    private int _readersWaiting;
    private int _writersWaiting;
    private int _wakeDeferred;

    /// <summary>Waits until an item may be read (true) or the channel is completed and drained (false, or the completion error).</summary>
    private ValueTask<bool> WaitToRead(CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<bool>(cancellationToken);
        }

        if (HasItems || SpinUntilItems())
        {
            return new ValueTask<bool>(true);
        }

        if (IsDrained)
        {
            return Drained();
        }

        var waiter = new RingWaiter(this);
        lock (_sync)
        {
            _readers.Add(waiter);
            Interlocked.Exchange(ref _readersWaiting, _readers.Count);
        }

        waiter.CancelWith(cancellationToken, static w => ((RingChannel<T>)w.Owner).Remove(w, reader: true));
        if (HasItems || IsClosed)
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
            return Completed(done);
        }

        if (HasSpace)
        {
            return new ValueTask<bool>(true);
        }

        var waiter = new RingWaiter(this);
        lock (_sync)
        {
            _writers.Add(waiter);
            Interlocked.Exchange(ref _writersWaiting, _writers.Count);
        }

        waiter.CancelWith(cancellationToken, static w => ((RingChannel<T>)w.Owner).Remove(w, reader: false));
        if (HasSpace || IsClosed)
        {
            WakeWriters(); // raced with a read or completion that did not see us yet
        }

        return waiter.Task;
    }

    private bool SpinUntilItems()
    {
        for (int i = 0; i < ReaderSpins; i++)
        {
            Thread.SpinWait(ReaderSpinWidth);
            if (HasItems)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>After a write: wakes readers if any wait.</summary>
    private void Written()
    {
        if (Volatile.Read(ref _readersWaiting) != 0)
        {
            WakeReaders();
        }
    }

    /// <summary>After a read: completes the channel if that was the last item, and lets blocked writers know about the room.</summary>
    private void Taken()
    {
        if (Volatile.Read(ref _doneWriting) is not null && IsDrained)
        {
            CompleteCompletion();
        }

        if (Volatile.Read(ref _writersWaiting) == 0)
        {
            return;
        }

        if (Count <= _lowWater)
        {
            WakeWriters();
        }
        else if (Interlocked.Exchange(ref _wakeDeferred, 1) == 0 && !TurnEnd.TryDefer(this))
        {
            Volatile.Write(ref _wakeDeferred, 0);
            WakeWriters(); // not on an isolate's thread: there is no turn to wait for
        }
    }

    void ITurnEndAction.OnTurnEnd()
    {
        Volatile.Write(ref _wakeDeferred, 0);
        if (Volatile.Read(ref _writersWaiting) != 0)
        {
            WakeWriters();
        }
    }

    private void WakeReaders() => Wake(_readers, ref _readersWaiting, reader: true);

    private void WakeWriters() => Wake(_writers, ref _writersWaiting, reader: false);

    private void Wake(List<RingWaiter> list, ref int waiting, bool reader)
    {
        RingWaiter? single = null;
        RingWaiter[]? many = null;
        lock (_sync)
        {
            if (list.Count == 1)
            {
                single = list[0];
            }
            else if (list.Count > 1)
            {
                many = [.. list];
            }

            list.Clear();
            Volatile.Write(ref waiting, 0);
        }

        if (single is not null)
        {
            Release(single, reader);
        }
        else if (many is not null)
        {
            foreach (RingWaiter waiter in many)
            {
                Release(waiter, reader);
            }
        }
    }

    /// <summary>Completes a woken waiter: "look again", or the outcome of completion once there is nothing more for it.</summary>
    private void Release(RingWaiter waiter, bool reader)
    {
        Exception? done = Volatile.Read(ref _doneWriting);
        if (done is null || (reader && !IsDrained))
        {
            waiter.TrySetResult(true);
        }
        else if (ReferenceEquals(done, DoneWithoutError))
        {
            waiter.TrySetResult(false);
        }
        else
        {
            waiter.TrySetException(WaitError(done));
        }
    }

    private void Remove(RingWaiter waiter, bool reader)
    {
        lock (_sync)
        {
            List<RingWaiter> list = reader ? _readers : _writers;
            list.Remove(waiter);
            Volatile.Write(ref reader ? ref _readersWaiting : ref _writersWaiting, list.Count);
        }
    }

    /// <summary>How many readers and writers wait now (for tests).</summary>
    internal (int Readers, int Writers) Waiting => (Volatile.Read(ref _readersWaiting), Volatile.Read(ref _writersWaiting));

    private ValueTask<bool> Drained() => Completed(Volatile.Read(ref _doneWriting)!);

    private static ValueTask<bool> Completed(Exception done) =>
        ReferenceEquals(done, DoneWithoutError) ? new ValueTask<bool>(false) : ValueTask.FromException<bool>(WaitError(done));
}
