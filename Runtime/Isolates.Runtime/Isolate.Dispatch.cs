using Isolates.Calls;

namespace Isolates;

/// <summary>The one path every call takes from the caller to the isolate's engine.</summary>
public sealed partial class Isolate
{
    /// <summary>The places in the queue for calls (<see cref="IsolateOptions.MaxQueuedCalls"/>), or null for no bound.</summary>
    private CallGate? _callGate;

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
        try
        {
            plan = CallPlan.Get(function, shape);
        }
        catch (Exception ex)
        {
            // Refused before anything was sent: the function captures state, or a type is not shareable.
            return Task.FromException<TResult>(ex);
        }

        return _engine.Call<TArgs, TResult>(plan, args, direct, cancellationToken);
    }

    private CallGate? CallGateFor(IsolateOptions options) =>
        options.MaxQueuedCalls > 0 ? new CallGate(options.MaxQueuedCalls, () => ClosedReason("before the call was made (it was waiting for room in the isolate's queue)")) : null;
}
