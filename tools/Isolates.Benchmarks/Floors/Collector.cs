using System.Diagnostics;

namespace Isolates.Benchmarks.Floors;

/// <summary>Collects until an unloaded context is gone: the least any verified unload has to do.</summary>
public static class Collector
{
    /// <summary>Runs full collections until <paramref name="reference"/> is dead; false if it outlives <paramref name="timeout"/>.</summary>
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
        }

        return true;
    }
}
