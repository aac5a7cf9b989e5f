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

        if (_child is { } child)
        {
            return CallChild<TArgs, TResult>(child, function, shape, args, cancellationToken);
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

        var item = new CallItem<TArgs, TResult>(this, plan, args, payload, attachments, direct, cancellationToken) { FromOwnThread = IsOwnThread };
        item.Telemetry = CallTelemetry.Begin(this); // null unless someone listens to the Isolates meter or activity source
        if (!item.RegisterCancellation())
        {
            return item.Task; // a token was cancelled already
        }

        if (_callGate is { } gate)
        {
            item.WaitAt(gate); // before it can be in the line, so a cancellation always knows where to look
            if (!gate.TryEnter(item))
            {
                return item.Task; // MaxQueuedCalls reached: it waits in line and is queued when a place comes free
            }

            item.WaitAt(null);
            item.HoldPlace(gate);
        }

        _queue.Enqueue(item); // the place is given back when the call starts, or when the queue abandons it
        return item.Task;
    }

    /// <summary>The places in the queue for calls (<see cref="IsolateOptions.MaxQueuedCalls"/>), or null for no bound.</summary>
    private CallGate? _callGate;

    private CallGate? CallGateFor(IsolateOptions options) =>
        options.MaxQueuedCalls > 0 ? new CallGate(options.MaxQueuedCalls, () => ClosedReason("before the call was made (it was waiting for room in the isolate's queue)")) : null;

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
