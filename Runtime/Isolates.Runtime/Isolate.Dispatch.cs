using Isolates.Calls;
using Isolates.Diagnostics;
using Isolates.Wire;

namespace Isolates;

/// <summary>The one path every call takes from the caller into the isolate's queue.</summary>
public sealed partial class Isolate
{
    private Task<TResult> Dispatch<TArgs, TResult>(
        Delegate function,
        ResultShape shape,
        TArgs args,
        Func<Delegate, TArgs, object?> direct,
        CancellationToken cancellationToken)
        where TArgs : struct, IArgs
    {
        ArgumentNullException.ThrowIfNull(function);
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<TResult>(cancellationToken);
        }

        if (Volatile.Read(ref _stopRequested) != 0)
        {
            return Task.FromException<TResult>(ClosedReason("before the call was made"));
        }

        CallPlan plan;
        byte[]? payload = null;
        object[]? attachments = null;
        try
        {
            plan = CallPlan.Get(function, shape);
            if (plan.EncodedArgumentCount > 0)
            {
                payload = EncodeArguments(plan, args, out attachments);
            }
        }
        catch (Exception ex)
        {
            // Refused before anything was sent: not shareable, or the caller's own getters threw while encoding.
            return Task.FromException<TResult>(ex);
        }

        var item = new CallItem<TArgs, TResult>(this, plan, args, payload, attachments, direct, cancellationToken);
        item.Telemetry = CallTelemetry.Begin(this); // null unless someone listens to the Isolates meter or activity source
        if (_callSlots is { } slots)
        {
            if (!slots.Wait(0))
            {
                return EnqueueWhenRoomAsync(item, slots, cancellationToken); // MaxQueuedCalls reached
            }

            item.HoldSlot(slots);
        }

        Enqueue(item);
        return item.Task;
    }

    /// <summary>The semaphore that bounds queued calls (<see cref="IsolateOptions.MaxQueuedCalls"/>), or null for no bound.</summary>
    private SemaphoreSlim? _callSlots;

    private static SemaphoreSlim? CallSlots(IsolateOptions options) =>
        options.MaxQueuedCalls > 0 ? new SemaphoreSlim(options.MaxQueuedCalls, options.MaxQueuedCalls) : null;

    private void Enqueue<TArgs, TResult>(CallItem<TArgs, TResult> item)
        where TArgs : struct, IArgs
    {
        if (item.RegisterCancellation())
        {
            _queue.Enqueue(item); // the slot is given back when the call starts, or when the queue abandons it
        }
        else
        {
            item.ReleaseSlot(); // cancelled before it was queued
        }
    }

    /// <summary>Waits for a free place in the queue, then queues the call; cancelled while waiting, it never runs.</summary>
    private async Task<TResult> EnqueueWhenRoomAsync<TArgs, TResult>(CallItem<TArgs, TResult> item, SemaphoreSlim slots, CancellationToken cancellationToken)
        where TArgs : struct, IArgs
    {
        await slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        item.HoldSlot(slots);
        if (Volatile.Read(ref _stopRequested) != 0)
        {
            item.ReleaseSlot();
            throw ClosedReason("before the call was made (it was waiting for room in the isolate's queue)");
        }

        Enqueue(item);
        return await item.Task.ConfigureAwait(false);
    }

    private static byte[] EncodeArguments<TArgs>(CallPlan plan, TArgs args, out object[]? attachments)
        where TArgs : struct, IArgs
    {
        var codecs = new Codec[plan.EncodedArgumentCount];
        var values = new object?[plan.EncodedArgumentCount];
        int k = 0;
        for (int i = 0; i < plan.ArgumentCodecs.Length; i++)
        {
            if (plan.ArgumentCodecs[i] is { } codec)
            {
                codecs[k] = codec;
                values[k++] = args.Get(i);
            }
        }

        return Payload.Encode(codecs, values, out attachments);
    }
}
