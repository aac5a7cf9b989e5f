using Isolates.Diagnostics;
using Isolates.Dispatcher;

namespace Isolates.Engines;

/// <summary>The thread's CPU and allocation figures, sampled on the thread itself (see <see cref="Isolate.AllocatedBytes"/>).</summary>
internal sealed partial class InProcessEngine
{
    private long _allocatedBytes;
    private long _cpuTicks;
    private int _sampleRequested;
    private SampleRequest? _sampleRequest;

    /// <inheritdoc />
    public override long LastAllocatedBytes => Volatile.Read(ref _allocatedBytes);

    /// <inheritdoc />
    public override TimeSpan LastCpuTime => new(Volatile.Read(ref _cpuTicks));

    /// <summary>
    /// Asks the isolate's thread for a fresh sample: one small work item, queued only if none is pending. Sampling on
    /// demand, not whenever the thread goes idle, because reading a thread's CPU clock is a system call (microseconds
    /// in some virtual machines): an isolate nobody watches never pays for it.
    /// </summary>
    public override void RequestSample()
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
    private sealed class SampleRequest(InProcessEngine owner) : WorkItem
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
