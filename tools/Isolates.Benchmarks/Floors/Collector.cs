using System.Diagnostics;

namespace Isolates.Benchmarks.Floors;

/// <summary>Collects until an unloaded context is gone: the least any verified unload has to do.</summary>
public static class Collector
{
    /// <summary>
    /// Runs the collections the runtime's unload check runs (collect, wait for finalizers, collect) until
    /// <paramref name="reference"/> is dead; false if it outlives <paramref name="timeout"/>.
    /// </summary>
    public static bool UntilCollected(WeakReference reference, TimeSpan timeout)
    {
        long start = Stopwatch.GetTimestamp();
        while (reference.IsAlive)
        {
            if (Stopwatch.GetElapsedTime(start) > timeout)
            {
                return false;
            }

            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
        }

        return true;
    }

    /// <summary>
    /// Lets the work an unload leaves behind finish before the next timed region: the context's native teardown runs
    /// on the finalizer thread after the collection that found it dead, and would otherwise be billed (about 1-2 ms
    /// on two cores) to whatever is measured next.
    /// </summary>
    public static void Quiesce()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }
}
