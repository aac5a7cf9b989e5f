using System.Diagnostics.Metrics;
using Isolates.Diagnostics;
using Isolates.Dispatcher;

namespace Isolates;

/// <summary>Per-isolate resource figures, sampled on the isolate's own thread, and what the metrics read.</summary>
public sealed partial class Isolate
{
    private long _allocatedBytes;
    private long _cpuTicks;
    private int _sampleRequested;
    private SampleRequest? _sampleRequest;

    /// <summary>
    /// Bytes allocated by the isolate's thread since it started (<see cref="GC.GetAllocatedBytesForCurrentThread"/>),
    /// as of the last sample that thread took. Only the thread itself can read this counter, so it samples when asked
    /// and when it stops: reading this property (or a metrics collection) asks for a fresh sample, which the thread
    /// takes after the work already queued (the queue is first in, first out, so a busy isolate gets to it too). So a value read now may lag by that work; a call
    /// that runs for a long time is counted when it returns. Work isolate code moves to other threads
    /// (<c>Task.Run</c>, <c>ConfigureAwait(false)</c> continuations) is not included.
    /// </summary>
    public long AllocatedBytes
    {
        get
        {
            RequestSample();
            return LastAllocatedBytes;
        }
    }

    /// <summary>
    /// CPU time (user and system) used by the isolate's thread since it started, sampled like
    /// <see cref="AllocatedBytes"/> (reading it asks for a fresh sample). Read with
    /// <c>clock_gettime(CLOCK_THREAD_CPUTIME_ID)</c> on Linux and macOS and <c>GetThreadTimes</c> on Windows; on other
    /// platforms it stays <see cref="TimeSpan.Zero"/>.
    /// </summary>
    public TimeSpan CpuTime
    {
        get
        {
            RequestSample();
            return LastCpuTime;
        }
    }

    /// <summary>The last sample, without asking for a new one.</summary>
    internal long LastAllocatedBytes => Volatile.Read(ref _allocatedBytes);

    /// <summary>The last sample, without asking for a new one.</summary>
    internal TimeSpan LastCpuTime => new(Volatile.Read(ref _cpuTicks));

    internal static int LiveCount => Live.Count;

    /// <summary>
    /// One measurement per live isolate, tagged with its name and id (for the per-isolate observable instruments).
    /// With <paramref name="sampled"/>, also asks each isolate for a fresh sample, which the next collection reports.
    /// </summary>
    internal static IEnumerable<Measurement<T>> Observe<T>(Func<Isolate, T> read, bool sampled = false)
        where T : struct
    {
        foreach (Isolate isolate in Live.Values)
        {
            if (sampled)
            {
                isolate.RequestSample();
            }

            yield return new Measurement<T>(read(isolate), new KeyValuePair<string, object?>(Instruments.IsolateNameTag, isolate.Name), new KeyValuePair<string, object?>("isolate.id", isolate.Id));
        }
    }

    /// <summary>
    /// Asks the isolate's thread for a fresh sample: one small work item, queued only if none is pending. Sampling on
    /// demand, not whenever the thread goes idle, because reading a thread's CPU clock is a system call (microseconds
    /// in some virtual machines): an isolate nobody watches never pays for it.
    /// </summary>
    private void RequestSample()
    {
        if (Volatile.Read(ref _sampleRequested) == 0 && Interlocked.Exchange(ref _sampleRequested, 1) == 0)
        {
            _queue.Enqueue(_sampleRequest ??= new SampleRequest(this)); // abandoned (harmlessly) once the isolate stops
        }
    }

    /// <summary>Reads the thread's figures; only the isolate's own thread may call it (they are per-thread counters).</summary>
    private void SampleThread()
    {
        System.Diagnostics.Debug.Assert(IsOwnThread || _thread == Thread.CurrentThread, "sampled on the isolate's own thread");
        Volatile.Write(ref _allocatedBytes, GC.GetAllocatedBytesForCurrentThread());
        Volatile.Write(ref _cpuTicks, ThreadCpuTime.CurrentThreadTicks());
    }

    /// <summary>A sample asked for by a reader of the figures; one instance per isolate, queued at most once at a time.</summary>
    private sealed class SampleRequest(Isolate owner) : WorkItem
    {
        public override string Description => "sampling its CPU time and allocations";

        public override void Execute()
        {
            Volatile.Write(ref owner._sampleRequested, 0);
            owner.SampleThread();
        }

        public override void Abandon(Exception reason)
        {
            // The isolate stopped; its thread took a final sample on its way out.
        }
    }
}
