using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Isolates.Diagnostics;

/// <summary>
/// The runtime's meter and its instruments (described one by one in docs/observability.md). Every hot-path site
/// checks <see cref="Instrument.Enabled"/> first, so while nobody listens a call or a channel item pays one field
/// read per instrument and nothing else. Figures that already exist (live isolates, queue lengths, per-isolate CPU
/// and allocations) are observable instruments, read only when a listener collects.
/// </summary>
internal static class Instruments
{
    public const string IsolateNameTag = "isolate.name";
    public const string ExitReasonTag = "isolates.exit.reason";
    public const string ErrorTypeTag = "error.type";
    public const string DestinationTag = "messaging.destination.name";

    public static readonly Meter Meter = new(IsolateTelemetry.MeterName, typeof(Instruments).Assembly.GetName().Version?.ToString());

    public static readonly Counter<long> Spawns = Meter.CreateCounter<long>(
        "isolates.isolate.spawns", "{isolate}", "Isolates created (or handed out pre-warmed) and listed in Isolate.All.");

    public static readonly Counter<long> Exits = Meter.CreateCounter<long>(
        "isolates.isolate.exits", "{isolate}", "Isolates that ended, by reason (closed, faulted, stuck, unload_failed).");

    public static readonly Counter<long> UnloadFailures = Meter.CreateCounter<long>(
        "isolates.isolate.unload_failures", "{isolate}", "Isolates whose context was not collected after they stopped (leaked, or unloading threw).");

    public static readonly Counter<long> Calls = Meter.CreateCounter<long>(
        "isolates.calls", "{call}", "Calls dispatched to an isolate (CallAsync and pool submits).");

    public static readonly Histogram<double> CallDuration = Meter.CreateHistogram<double>(
        "isolates.call.duration", "s", "Time from dispatching a call to its task completing, as the caller sees it (queueing included).",
        tags: null,
        advice: new InstrumentAdvice<double>
        {
            // Calls range from a few microseconds (a round trip) to seconds: the default buckets start at 5 ms.
            HistogramBucketBoundaries = [0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        });

    public static readonly Counter<long> MessagesSent = Meter.CreateCounter<long>(
        "isolates.channel.messages.sent", "{message}", "Items written into an isolate channel, per channel.");

    public static readonly Counter<long> MessagesReceived = Meter.CreateCounter<long>(
        "isolates.channel.messages.received", "{message}", "Items read from an isolate channel, per channel.");

    static Instruments()
    {
        Meter.CreateObservableUpDownCounter(
            "isolates.isolate.count", static () => (long)Isolate.LiveCount, "{isolate}", "Isolates alive now (those listed in Isolate.All).");
        Meter.CreateObservableUpDownCounter(
            "isolates.isolate.queue.length", static () => Isolate.Observe(static i => (long)i.QueueLength), "{work_item}", "Calls and callbacks waiting in each isolate's queue.");
        Meter.CreateObservableUpDownCounter(
            "isolates.channel.queue.length", ChannelTelemetry.ObserveQueueLengths, "{message}", "Items waiting in each live isolate channel's buffer.");
        Meter.CreateObservableCounter(
            "isolates.isolate.memory.allocated", static () => Isolate.Observe(static i => i.LastAllocatedBytes, sampled: true), "By", "Bytes allocated by each isolate's thread, as sampled by that thread (each collection asks for the next sample).");
        Meter.CreateObservableCounter(
            "isolates.isolate.cpu.time", static () => ThreadCpuTime.IsSupported ? Isolate.Observe(static i => i.LastCpuTime.TotalSeconds, sampled: true) : [], "s", "CPU time used by each isolate's thread, as sampled by that thread.");
    }

    /// <summary>Creates the meter and its instruments (the type initializer does), so tools see them before the first isolate.</summary>
    public static void EnsureCreated()
    {
    }

    /// <summary>Whether a call needs its start time taken (someone listens to the call counter or its duration).</summary>
    public static bool CallsObserved => Calls.Enabled || CallDuration.Enabled;

    public static void Spawned(Isolate isolate) => CountLifeEvent(Spawns, isolate.Name);

    public static void Exited(IsolateExit exit) => CountLifeEvent(Exits, exit.Isolate.Name, ReasonTag(exit.Reason));

    public static void UnloadFailed(Isolate isolate) => CountLifeEvent(UnloadFailures, isolate.Name);

    /// <summary>Counts a dispatched call; returns its start timestamp, or 0 when nobody listens to durations.</summary>
    public static long CallStarted(Isolate isolate)
    {
        if (Calls.Enabled)
        {
            Calls.Add(1, new KeyValuePair<string, object?>(IsolateNameTag, isolate.Name));
        }

        return CallDuration.Enabled ? Stopwatch.GetTimestamp() : 0;
    }

    public static void CallEnded(Isolate isolate, long started, Task outcome)
    {
        Debug.Assert(started != 0 && outcome.IsCompleted);
        var tags = new TagList { { IsolateNameTag, isolate.Name } };
        if (ErrorType(outcome) is { } error)
        {
            tags.Add(ErrorTypeTag, error);
        }

        CallDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tags);
    }

    /// <summary>The <c>error.type</c> of a completed task: null on success, the exception's type name, or "canceled".</summary>
    public static string? ErrorType(Task outcome) => outcome.Status switch
    {
        TaskStatus.Faulted => outcome.Exception!.InnerException?.GetType().Name ?? nameof(Exception),
        TaskStatus.Canceled => "canceled",
        _ => null,
    };

    /// <summary>
    /// Counts a spawn, an exit or an unload failure. These run inside the isolate's life cycle (starting, stopping,
    /// unloading), which a listener that throws must not break, so its exception is dropped here.
    /// </summary>
    private static void CountLifeEvent(Counter<long> counter, string isolateName, string? reason = null)
    {
        if (!counter.Enabled)
        {
            return;
        }

        try
        {
            var tags = new TagList { { IsolateNameTag, isolateName } };
            if (reason is not null)
            {
                tags.Add(ExitReasonTag, reason);
            }

            counter.Add(1, tags);
        }
        catch (Exception)
        {
            // a listener's bug; the life cycle goes on
        }
    }

    public static string ReasonTag(IsolateExitReason reason) => reason switch
    {
        IsolateExitReason.Closed => "closed",
        IsolateExitReason.Faulted => "faulted",
        IsolateExitReason.Stuck => "stuck",
        _ => "unload_failed",
    };
}
