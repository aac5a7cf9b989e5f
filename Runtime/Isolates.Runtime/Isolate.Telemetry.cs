using System.Diagnostics.Metrics;
using Isolates.Diagnostics;

namespace Isolates;

/// <summary>Per-isolate resource figures, sampled on the isolate's own thread, and what the metrics read.</summary>
public sealed partial class Isolate
{
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
            _engine.RequestSample();
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
            _engine.RequestSample();
            return LastCpuTime;
        }
    }

    /// <summary>The last sample, without asking for a new one.</summary>
    internal long LastAllocatedBytes => _engine.LastAllocatedBytes;

    /// <summary>The last sample, without asking for a new one.</summary>
    internal TimeSpan LastCpuTime => _engine.LastCpuTime;

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
                isolate._engine.RequestSample();
            }

            yield return new Measurement<T>(read(isolate), new KeyValuePair<string, object?>(Instruments.IsolateNameTag, isolate.Name), new KeyValuePair<string, object?>("isolate.id", isolate.Id));
        }
    }
}
