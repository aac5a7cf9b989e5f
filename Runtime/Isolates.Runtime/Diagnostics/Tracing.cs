using System.Diagnostics;
using Isolates.Calls;

namespace Isolates.Diagnostics;

/// <summary>
/// The runtime's activities (docs/observability.md): one around each call's user code inside the isolate, a
/// producer activity when an item is written to a channel and a consumer activity when it is read. Nothing is
/// captured, allocated or started while no listener samples the <c>Isolates</c> source.
/// </summary>
internal static class Tracing
{
    public const string CallActivityName = "isolates.call";
    public const string ChunkActivityName = "isolates.map.chunk";
    public const string SendActivityName = "isolates.channel.send";
    public const string ReceiveActivityName = "isolates.channel.receive";

    public static readonly ActivitySource Source = new(IsolateTelemetry.ActivitySourceName, typeof(Tracing).Assembly.GetName().Version?.ToString());

    /// <summary>
    /// At the call site: the caller's trace context; null when nobody listens or the caller has no current activity
    /// (a call is part of its caller's work, never the start of a trace of its own: at a few microseconds per call,
    /// a root trace per call would flood any exporter).
    /// </summary>
    public static TraceParent? CaptureForCall() =>
        Source.HasListeners() && Activity.Current is { } current ? new TraceParent(current.Context) : null;

    /// <summary>
    /// On the isolate's thread, just before user code runs: starts the call's activity as a child of the caller's
    /// context and makes it <see cref="Activity.Current"/>, so isolate code (and what it awaits) shares the trace.
    /// Null when the listeners do not sample it.
    /// </summary>
    public static Activity? StartCall(TraceParent parent, Isolate isolate, CallPlan plan) =>
        StartInIsolate(CallActivityName, parent, isolate, plan);

    /// <summary>On the isolate's thread, before a map chunk runs: like <see cref="StartCall"/>, one activity for the whole chunk.</summary>
    public static Activity? StartChunk(TraceParent parent, Isolate isolate, CallPlan plan, int items)
    {
        Activity? activity = StartInIsolate(ChunkActivityName, parent, isolate, plan);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("isolates.map.items", items);
        }

        return activity;
    }

    private static Activity? StartInIsolate(string name, TraceParent parent, Isolate isolate, CallPlan plan)
    {
        Activity? activity = Source.StartActivity(name, ActivityKind.Internal, parent.Context);
        if (activity is not null)
        {
            activity.DisplayName = plan.DisplayName;
            if (activity.IsAllDataRequested)
            {
                activity.SetTag("isolate.name", isolate.Name);
                activity.SetTag("isolate.id", isolate.Id);
                activity.SetTag("code.function.name", plan.DisplayName);
            }
        }

        return activity;
    }

    /// <summary>Ends a call's activity with the outcome of the caller's task (from any thread).</summary>
    public static void EndCall(Activity activity, Task outcome)
    {
        if (outcome.IsFaulted || outcome.IsCanceled)
        {
            string error = Instruments.ErrorType(outcome)!;
            activity.SetStatus(ActivityStatusCode.Error, outcome.Exception?.InnerException?.Message ?? error);
            activity.SetTag(Instruments.ErrorTypeTag, error);
        }

        activity.Stop();
    }

    /// <summary>
    /// In a channel writer: when the writer has a current activity and someone listens, records a producer activity
    /// under it and returns that activity's context to travel with the item; otherwise null.
    /// </summary>
    public static TraceParent? CaptureForSend(Channels.ChannelCore channel)
    {
        if (!Source.HasListeners() || Activity.Current is not { } current)
        {
            return null;
        }

        // No explicit parent: the writer's activity becomes the parent object, which Stop makes current again.
        using Activity? send = Source.StartActivity(SendActivityName, ActivityKind.Producer);
        if (send is null)
        {
            return new TraceParent(current.Context); // not sampled here: still carry the writer's own context
        }

        Describe(send, "send", channel.Name);
        return new TraceParent(send.Context);
    }

    /// <summary>In a channel reader: records a consumer activity parented to the context the item carried.</summary>
    public static void Received(TraceParent? parent, Channels.ChannelCore channel)
    {
        if (parent is null || !Source.HasListeners())
        {
            return;
        }

        // Parented (same trace) and linked (the messaging conventions' pointer to the producer) to the writer's
        // context. Stopping an activity started from a context makes "no activity" current: put the reader's back.
        Activity? previous = Activity.Current;
        Activity? receive = Source.StartActivity(ReceiveActivityName, ActivityKind.Consumer, parent.Context, links: [new ActivityLink(parent.Context)]);
        if (receive is not null)
        {
            Describe(receive, "receive", channel.Name);
            receive.Stop();
            Activity.Current = previous;
        }
    }

    private static void Describe(Activity activity, string operation, string channel)
    {
        activity.DisplayName = operation + " " + channel;
        if (activity.IsAllDataRequested)
        {
            activity.SetTag("messaging.system", "isolates");
            activity.SetTag("messaging.operation.type", operation);
            activity.SetTag("messaging.operation.name", operation);
            activity.SetTag(Instruments.DestinationTag, channel);
        }
    }
}
