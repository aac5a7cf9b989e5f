using Isolates.Benchmarks.Floors;
using Isolates.Benchmarks.Targets;

namespace Isolates.Benchmarks.Quick;

/// <summary>
/// Memory: many idle isolates alive at once, each having made one call (so its copy of the assembly is loaded),
/// and the growth of resident and managed memory divided by their number. Isolates are measured first, so memory
/// the process keeps after the first batch can only flatter the floor, never Isolates.
/// </summary>
internal static class MemoryFigure
{
    public static async Task<IReadOnlyList<Row>> MeasureAsync(int count, ICollection<string> notes)
    {
        ProcessMemory before = ProcessMemory.Settle();
        var isolates = new List<Isolate>(count);
        for (int i = 0; i < count; i++)
        {
            Isolate isolate = await Isolate.CreateAsync();
            Check.Equal(42, await isolate.CallAsync(Workload.Answer));
            isolates.Add(isolate);
        }

        ProcessMemory growth = ProcessMemory.Settle().Since(before);
        await Task.WhenAll(isolates.Select(isolate => isolate.CloseAsync()));
        int leaked = isolates.Count(isolate => isolate.UnloadStatus != UnloadStatus.Unloaded);
        isolates.Clear();

        before = ProcessMemory.Settle();
        var bares = new List<BareIsolate>(count);
        for (int i = 0; i < count; i++)
        {
            BareIsolate bare = BareIsolate.Start();
            Check.Equal(42, await bare.RunAsync(Reflective.Answer));
            bares.Add(bare); // its thread now blocks, waiting for more work
        }

        ProcessMemory floorGrowth = ProcessMemory.Settle().Since(before);
        WeakReference[] contexts = [.. bares.Select(bare => bare.Stop())];
        bares.Clear();
        int floorLeaked = contexts.Count(context => !Collector.UntilCollected(context, TimeSpan.FromSeconds(5)));

        if (leaked + floorLeaked > 0)
        {
            notes.Add($"memory: {leaked} isolates and {floorLeaked} bare contexts (of {count} each) were not collected after closing.");
        }

        const double KiB = 1024;
        string floor = $"{count:N0} collectible ALCs + loaded assembly + blocked thread";
        return
        [
            new Row($"memory: RSS growth per idle isolate ({count:N0} alive)", "KiB",
                Summary.Single(growth.ResidentBytes / KiB / count, count), floor,
                Summary.Single(floorGrowth.ResidentBytes / KiB / count, count)),
            new Row($"memory: managed heap growth per idle isolate ({count:N0} alive)", "KiB",
                Summary.Single(growth.ManagedBytes / KiB / count, count), floor,
                Summary.Single(floorGrowth.ManagedBytes / KiB / count, count)),
        ];
    }
}
