using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Isolates.Diagnostics;

namespace Isolates.Channels;

/// <summary>
/// The buffer behind bounded channels that wait when full: a lock-free ring (one sequence number per slot, so any
/// number of writers and readers may use it) in place of the framework's bounded channel, which takes a lock for every
/// item and wakes a blocked writer for every item read. Streaming between two isolate threads is dominated by that
/// hand-off, so this ring keeps it off the per-item path:
/// <list type="bullet">
/// <item>writing and reading an item touch only the slot and their own position (each on its own cache line);</item>
/// <item>writers blocked on a full ring get the room when it has drained to half its capacity, or when the reading
/// isolate's current turn ends (<see cref="Dispatcher.TurnEnd"/>), whichever comes first: once per batch, never left
/// waiting while their reader waits for something else; a reader that is not an isolate thread gives the room at
/// once. Blocked writes are put in by the one who gives the room, oldest first and before newer writes;</item>
/// <item>a reader about to wait spins briefly first, so a steady writer rarely pays for waking it.</item>
/// </list>
/// Everything observable matches <see cref="Channel.CreateBounded{T}(BoundedChannelOptions)"/> with
/// <see cref="BoundedChannelFullMode.Wait"/> (tests compare the two side by side), except that a writer blocked on a
/// full ring resumes a little later, as described above, and <see cref="ChannelReader{T}.Count"/> includes an item a
/// writer is putting in at that moment.
/// </summary>
/// <typeparam name="T">What the ring buffers (the values of a direct channel, or encoded messages).</typeparam>
internal sealed partial class RingChannel<T> : Channel<T>
{
    /// <summary>
    /// The largest capacity a ring is made for. Its slots are allocated up front (72 bytes each for encoded messages),
    /// so a channel of a larger capacity, typically "practically unbounded", uses the framework's bounded channel,
    /// which grows as items come.
    /// </summary>
    public const int MaxCapacity = 1 << 16;

    /// <summary>Set in the tail position by completion: no write can claim a slot after it.</summary>
    private const long ClosedBit = 1L << 62;

    /// <summary>The completion value of a channel completed without an error.</summary>
    private static readonly Exception DoneWithoutError = new ChannelClosedException();

    private readonly Slot[] _slots;
    private readonly int _capacity;
    private readonly long _mask; // capacity - 1 when capacity is a power of two, else -1
    private readonly int _lowWater;
    private PaddedPosition _head; // the next position to read
    private PaddedPosition _tail; // the next position to write, plus ClosedBit once completed
    private Exception? _doneWriting; // set once, under _sync, before ClosedBit

    public RingChannel(int capacity)
    {
        Debug.Assert(capacity >= 1);
        _capacity = capacity;
        _mask = (capacity & (capacity - 1)) == 0 ? capacity - 1 : -1;
        _lowWater = capacity / 2;
        _slots = new Slot[capacity];
        for (int i = 0; i < capacity; i++)
        {
            _slots[i].Sequence = Free(i);
        }

        Reader = new RingReader(this);
        Writer = new RingWriter(this);
    }

    /// <summary>How many items the ring holds now (a snapshot).</summary>
    private int Count
    {
        get
        {
            long head = Volatile.Read(ref _head.Value);
            long tail = Volatile.Read(ref _tail.Value) & ~ClosedBit;
            return (int)Math.Clamp(tail - head, 0, _capacity);
        }
    }

    private bool IsClosed => Volatile.Read(ref _doneWriting) is not null;

    /// <summary>Completed, and every item written before completion has been taken by a reader.</summary>
    private bool IsDrained
    {
        get
        {
            long tail = Volatile.Read(ref _tail.Value);
            return (tail & ClosedBit) != 0 && Volatile.Read(ref _head.Value) == (tail & ~ClosedBit);
        }
    }

    /// <summary>Some slot has been claimed by a writer and not yet taken by a reader (it may still be being filled).</summary>
    private bool HasClaimedItems => (Volatile.Read(ref _tail.Value) & ~ClosedBit) > Volatile.Read(ref _head.Value);

    /// <summary>Some slot is free for a writer (it may still be being emptied).</summary>
    private bool HasSpace => (Volatile.Read(ref _tail.Value) & ~ClosedBit) - Volatile.Read(ref _head.Value) < _capacity;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref Slot SlotAt(long position) =>
        ref _slots[_mask >= 0 ? (int)(position & _mask) : (int)(position % _capacity)];

    private WriteOutcome TryEnqueue(T item)
    {
        long tail = Volatile.Read(ref _tail.Value);
        while (true)
        {
            if ((tail & ClosedBit) != 0)
            {
                return WriteOutcome.Closed;
            }

            ref Slot slot = ref SlotAt(tail);
            long sequence = Volatile.Read(ref slot.Sequence);
            if (sequence == Free(tail))
            {
                Interleave.Point("ring.write.sawFree");
                long seen = Interlocked.CompareExchange(ref _tail.Value, tail + 1, tail);
                if (seen == tail)
                {
                    Interleave.Point("ring.write.claimed"); // the slot is ours but not filled: readers must wait it out
                    slot.Item = item;
                    Volatile.Write(ref slot.Sequence, Filled(tail)); // publish to readers
                    return WriteOutcome.Written;
                }

                tail = seen; // another writer took it, or completion set the bit
            }
            else if (sequence < Free(tail))
            {
                return WriteOutcome.Full; // the slot still holds the item written one lap ago
            }
            else
            {
                tail = Volatile.Read(ref _tail.Value); // another writer moved on; catch up
            }
        }
    }

    private bool TryDequeue(out T item)
    {
        long head = Volatile.Read(ref _head.Value);
        while (true)
        {
            ref Slot slot = ref SlotAt(head);
            long sequence = Volatile.Read(ref slot.Sequence);
            if (sequence == Filled(head))
            {
                Interleave.Point("ring.read.sawFilled");
                long seen = Interlocked.CompareExchange(ref _head.Value, head + 1, head);
                if (seen == head)
                {
                    Interleave.Point("ring.read.claimed"); // the position moved but the slot is not free yet: writers must wait it out
                    item = slot.Item;
                    if (RuntimeHelpers.IsReferenceOrContainsReferences<T>())
                    {
                        slot.Item = default!; // the ring must not keep what it delivered alive
                    }

                    Volatile.Write(ref slot.Sequence, Free(head + _capacity)); // for the write one lap on
                    return true;
                }

                head = seen;
            }
            else if (sequence < Filled(head))
            {
                item = default!;
                return false; // empty, or the writer that claimed this slot has not filled it yet
            }
            else
            {
                head = Volatile.Read(ref _head.Value); // another reader moved on; catch up
            }
        }
    }

    private bool TryPeek(out T item)
    {
        while (true)
        {
            long head = Volatile.Read(ref _head.Value);
            ref Slot slot = ref SlotAt(head);
            if (Volatile.Read(ref slot.Sequence) != Filled(head))
            {
                item = default!;
                return false;
            }

            item = slot.Item;
            Interleave.Point("ring.peek.copied");
            Interlocked.MemoryBarrier();
            if (Volatile.Read(ref slot.Sequence) == Filled(head) && Volatile.Read(ref _head.Value) == head)
            {
                return true; // nobody took (or overwrote) the slot while we copied it
            }
        }
    }

    /// <summary>
    /// A slot's sequence when it is free for the write at <paramref name="position"/>. Free and filled states get even
    /// and odd numbers so that they never collide, even in a ring of one slot (where "filled at p" and "free for p + 1"
    /// would otherwise be the same number).
    /// </summary>
    private static long Free(long position) => position * 2;

    /// <summary>A slot's sequence once the write at <paramref name="position"/> has filled it.</summary>
    private static long Filled(long position) => (position * 2) + 1;

    private enum WriteOutcome
    {
        Written,
        Full,
        Closed,
    }

    private struct Slot
    {
        public T Item;
        public long Sequence;
    }
}
