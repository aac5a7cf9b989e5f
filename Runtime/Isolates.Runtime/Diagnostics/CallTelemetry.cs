using System.Diagnostics;
using Isolates.Calls;

namespace Isolates.Diagnostics;

/// <summary>
/// What one call records about itself: its start time (for the duration histogram) and the caller's trace context
/// with the activity started from it in the isolate. Created only while someone listens, so an unobserved call
/// carries a single null reference.
/// </summary>
internal sealed class CallTelemetry
{
    private long _started;
    private Activity? _activity;

    private CallTelemetry(long started, TraceParent? trace)
    {
        _started = started;
        Trace = trace;
    }

    public TraceParent? Trace { get; }

    /// <summary>At the call site: counts the call and captures what the listeners need; null when nobody listens.</summary>
    public static CallTelemetry? Begin(Isolate isolate)
    {
        long started = Instruments.CallsObserved ? Instruments.CallStarted(isolate) : 0;
        TraceParent? trace = Tracing.CaptureForCall();
        return started == 0 && trace is null ? null : new CallTelemetry(started, trace);
    }

    /// <summary>
    /// On the isolate's thread, before user code runs: starts the call's activity (which becomes current) and returns
    /// the activity that was current before, for the caller to restore.
    /// </summary>
    public Activity? StartActivity(Isolate isolate, CallPlan plan)
    {
        Debug.Assert(Trace is not null);
        Activity? previous = Activity.Current;
        Volatile.Write(ref _activity, Tracing.StartCall(Trace, isolate, plan));
        return previous;
    }

    /// <summary>After the caller's task completed (any thread, possibly more than once): records the duration and ends the activity, once each.</summary>
    public void End(Isolate isolate, Task outcome)
    {
        // Runs on the isolate's thread, in cancellation callbacks and in the close path: a listener that throws
        // must not fault the isolate or break the close, so its exception is dropped here.
        try
        {
            long started = Interlocked.Exchange(ref _started, 0);
            if (started != 0)
            {
                Instruments.CallEnded(isolate, started, outcome);
            }
        }
        catch (Exception)
        {
            // a listener's bug
        }

        try
        {
            if (Interlocked.Exchange(ref _activity, null) is { } activity)
            {
                Tracing.EndCall(activity, outcome);
            }
        }
        catch (Exception)
        {
            // a listener's bug
        }
    }
}
