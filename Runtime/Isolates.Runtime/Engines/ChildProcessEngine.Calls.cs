using Isolates.Calls;
using Isolates.Diagnostics;
using Isolates.Processes;

namespace Isolates.Engines;

/// <summary>Calls to the child: cancellation by token arguments, and the trace context carried in the call frame.</summary>
internal sealed partial class ChildProcessEngine
{
    /// <inheritdoc />
    protected override Task<TResult> Send<TArgs, TResult>(CallPlan plan, TArgs args, Func<Delegate, TArgs, object?> direct, CancellationToken cancellationToken)
    {
        if (Link is not { } link)
        {
            return CallWhenStartedAsync<TArgs, TResult>(plan, args, cancellationToken); // found through Isolate.All while it starts
        }

        // A CancellationToken argument cancels the call too, as in-process (CallItem registers each one): the caller's task
        // completes as cancelled and the function's token is cancelled in the child.
        CancellationTokenSource? linked = plan.HasTokenParameter ? LinkTokenArguments(plan, args, ref cancellationToken) : null;
        if (linked is not null)
        {
            Task<TResult> withTokens = SendOn<TArgs, TResult>(link, plan, args, cancellationToken);
            _ = withTokens.ContinueWith(static (_, s) => ((CancellationTokenSource)s!).Dispose(), linked, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return withTokens;
        }

        return SendOn<TArgs, TResult>(link, plan, args, cancellationToken);
    }

    private async Task<TResult> CallWhenStartedAsync<TArgs, TResult>(CallPlan plan, TArgs args, CancellationToken cancellationToken)
        where TArgs : struct, IArgs
    {
        _ = await _started.Task.WaitAsync(cancellationToken).ConfigureAwait(false)
            ?? throw Owner.ClosedReason("before the call was made (its child process failed to start)");

        // A close or kill that began while the call waited fails it, as a close fails the calls queued in-process:
        // sent now, it would race the close to the child and might run (or be cut off) after the close began.
        if (Owner.StopRequested)
        {
            throw Owner.ClosedReason("before the call was made (it was waiting for the child process to start)");
        }

        return await Send<TArgs, TResult>(plan, args, static (_, _) => null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The call token linked with every cancellable token argument, or null when there is none to link.</summary>
    private static CancellationTokenSource? LinkTokenArguments<TArgs>(CallPlan plan, TArgs args, ref CancellationToken cancellationToken)
        where TArgs : struct, IArgs
    {
        List<CancellationToken>? tokens = null;
        for (int i = 0; i < plan.TokenParameters.Length; i++)
        {
            if (plan.TokenParameters[i] && args.Get(i) is CancellationToken { CanBeCanceled: true } token && token != cancellationToken)
            {
                (tokens ??= []).Add(token);
            }
        }

        if (tokens is null)
        {
            return null;
        }

        tokens.Add(cancellationToken);
        var linked = CancellationTokenSource.CreateLinkedTokenSource([.. tokens]);
        cancellationToken = linked.Token;
        return linked;
    }

    private Task<TResult> SendOn<TArgs, TResult>(ChildLink link, CallPlan plan, TArgs args, CancellationToken cancellationToken)
        where TArgs : struct, IArgs
    {
        Isolate owner = Owner;
        CallTelemetry? telemetry = CallTelemetry.Begin(owner); // null unless someone listens
        if (telemetry is null)
        {
            return link.CallAsync<TArgs, TResult>(plan, args, cancellationToken, gate: owner.CallGate);
        }

        // The call's activity is started here, in the host, and its context crosses in the call frame: the child's
        // code continues the same trace (its own activities and outgoing requests carry the caller's trace id).
        System.Diagnostics.Activity? previous = System.Diagnostics.Activity.Current;
        string? traceParent = null;
        if (telemetry.Trace is not null)
        {
            _ = telemetry.StartActivity(owner, plan);
            traceParent = System.Diagnostics.Activity.Current?.Id;
            System.Diagnostics.Activity.Current = previous;
        }

        Task<TResult> call = link.CallAsync<TArgs, TResult>(plan, args, cancellationToken, traceParent, owner.CallGate);
        _ = call.ContinueWith(static (done, state) => ((Tuple<CallTelemetry, Isolate>)state!).Item1.End(((Tuple<CallTelemetry, Isolate>)state!).Item2, done), Tuple.Create(telemetry, owner), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return call;
    }
}
