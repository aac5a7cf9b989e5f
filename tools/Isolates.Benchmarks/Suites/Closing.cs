using Isolates.Benchmarks.Floors;

namespace Isolates.Benchmarks.Suites;

/// <summary>What every suite's cleanup does: close what the iteration made and let the unload finish before the next.</summary>
internal static class Closing
{
    public static void CloseAll(ref Isolate? isolate, ref BareIsolate? bare)
    {
        isolate?.CloseAsync().GetAwaiter().GetResult();
        isolate = null;
        if (bare is not null)
        {
            Collector.UntilCollected(bare.Stop(), TimeSpan.FromSeconds(5));
            bare = null;
        }

        Collector.Quiesce();
    }
}
