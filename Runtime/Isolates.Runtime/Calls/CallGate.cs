using System.Diagnostics;
using Isolates.Diagnostics;

namespace Isolates.Calls;

/// <summary>A call that may have to wait for a place in a bounded queue (<see cref="IsolateOptions.MaxQueuedCalls"/>).</summary>
internal interface IGatedCall
{
    /// <summary>The call already ended (cancelled while it waited): its turn passes to the next.</summary>
    bool IsCompleted { get; }

    /// <summary>Its turn came: it now holds a place (given back when it starts or is abandoned) and goes into the queue.</summary>
    void Admit(CallGate gate);

    /// <summary>It will never be queued: the isolate closed while it waited.</summary>
    void Refuse(Exception reason);
}

/// <summary>
/// Places in an isolate's queue for calls. A call takes a free place at once, or waits in line; a place given back
/// goes straight to the oldest waiting call, which the giver queues then and there, so calls enter the isolate's queue
/// in the order they were made and a newcomer never overtakes one that waits. Closing refuses every waiting call.
/// Calls are completed and queued outside the lock.
/// </summary>
internal sealed class CallGate(int places, Func<Exception> closedReason)
{
    private readonly Lock _lock = new();
    private readonly List<IGatedCall> _waiting = [];
    private readonly int _places = places;
    private int _free = places;
    private bool _closed;

    /// <summary>True when <paramref name="call"/> got a place and may be queued now; false when it waits in line (or was refused).</summary>
    public bool TryEnter(IGatedCall call)
    {
        Interleave.Point("gate.enter");
        bool refused = false;
        lock (_lock)
        {
            if (_closed)
            {
                refused = true;
            }
            else if (_waiting.Count == 0 && _free > 0)
            {
                _free--;
                return true;
            }
            else
            {
                _waiting.Add(call);
            }
        }

        if (refused)
        {
            call.Refuse(closedReason());
        }

        return false;
    }

    /// <summary>Gives a place back: to the oldest waiting call that has not ended, or to the free places.</summary>
    public void Release()
    {
        while (true)
        {
            IGatedCall next;
            lock (_lock)
            {
                if (_waiting.Count == 0 || _closed)
                {
                    _free++;
                    Debug.Assert(_free <= _places, "a place was given back twice");
                    return;
                }

                next = _waiting[0];
                _waiting.RemoveAt(0);
            }

            Interleave.Point("gate.release.next"); // out of the line, not yet admitted: its cancellation or a close may come now

            if (!next.IsCompleted)
            {
                next.Admit(this);
                return;
            }
        }
    }

    /// <summary>Takes a call that ended while it waited out of the line; false if it was not (or no longer) in it.</summary>
    public bool Remove(IGatedCall call)
    {
        lock (_lock)
        {
            return _waiting.Remove(call);
        }
    }

    /// <summary>Refuses every waiting call, and every later one.</summary>
    public void Close()
    {
        IGatedCall[] refused;
        lock (_lock)
        {
            _closed = true;
            refused = [.. _waiting];
            _waiting.Clear();
        }

        Interleave.Point("gate.close.taken");

        foreach (IGatedCall call in refused)
        {
            call.Refuse(closedReason());
        }
    }
}
