using System.Diagnostics.Metrics;
using Isolates.Diagnostics;

namespace Isolates;

/// <summary>Per-isolate resource figures, sampled on the isolate's own thread, and what the metrics read.</summary>
public sealed partial class Isolate
{
    private const int ItemsPerSample = 256;

    private long _allocatedBytes;
    private long _cpuTicks;
    private int _itemsSinceSample;

    /// <summary>
    /// Bytes allocated by the isolate's thread since it started (<see cref="GC.GetAllocatedBytesForCurrentThread"/>),
    /// as last sampled by that thread: when it runs out of work, every 256 work items and when it stops. Only its
    /// own thread can read this figure, so a call that runs for a long time is counted when it returns. Work isolate
    /// code moves to other threads (<c>Task.Run</c>, <c>ConfigureAwait(false)</c> continuations) is not included.
    /// </summary>
    public long AllocatedBytes => Volatile.Read(ref _allocatedBytes);

    /// <summary>
    /// CPU time (user and system) used by the isolate's thread since it started, sampled like
    /// <see cref="AllocatedBytes"/>. Read with <c>clock_gettime(CLOCK_THREAD_CPUTIME_ID)</c> on Linux and macOS and
    /// <c>GetThreadTimes</c> on Windows; on other platforms it stays <see cref="TimeSpan.Zero"/>.
    /// </summary>
    public TimeSpan CpuTime => new(Volatile.Read(ref _cpuTicks));

    internal static int LiveCount => Live.Count;

    /// <summary>One measurement per live isolate, tagged with its name and id (for the per-isolate observable instruments).</summary>
    internal static IEnumerable<Measurement<T>> Observe<T>(Func<Isolate, T> read)
        where T : struct
    {
        foreach (Isolate isolate in Live.Values)
        {
            yield return new Measurement<T>(read(isolate), new KeyValuePair<string, object?>(Instruments.IsolateNameTag, isolate.Name), new KeyValuePair<string, object?>("isolate.id", isolate.Id));
        }
    }

    /// <summary>Reads the thread's figures; only the isolate's own thread may call it (they are per-thread counters).</summary>
    private void SampleThread()
    {
        System.Diagnostics.Debug.Assert(IsOwnThread || _thread == Thread.CurrentThread, "sampled on the isolate's own thread");
        _itemsSinceSample = 0;
        Volatile.Write(ref _allocatedBytes, GC.GetAllocatedBytesForCurrentThread());
        Volatile.Write(ref _cpuTicks, ThreadCpuTime.CurrentThreadTicks());
    }

    /// <summary>After each work item: a busy isolate, which never runs out of work, still refreshes its figures.</summary>
    private void CountItemForSample()
    {
        if (++_itemsSinceSample >= ItemsPerSample)
        {
            SampleThread();
        }
    }
}
