using System.Diagnostics;

namespace Isolates.Benchmarks.Quick;

/// <summary>Runs the figures (the peers unless <c>--no-peers</c>) with the quick harness, prints the table and optionally writes the markdown report.</summary>
internal static class QuickRunner
{
    public static async Task<int> RunAsync(QuickOptions options)
    {
        var machine = MachineInfo.Current();
        Console.WriteLine($"Isolates quick benchmarks{(options.Ci ? " (--ci sizes)" : string.Empty)}: {machine}, load average {machine.LoadAverage}");
        if (machine.Configuration != "Release")
        {
            Console.WriteLine("warning: not a Release build; numbers will be pessimistic (use dotnet run -c Release).");
        }

        var notes = new List<string>();
        var rows = new List<Row>();
        var total = Stopwatch.StartNew();
        await Step(options, "spawn", async () => rows.AddRange(await SpawnFigure.MeasureAsync(options.Spawns, notes)));
        await Step(options, "first-call", async () => rows.AddRange(await FirstCallFigure.MeasureAsync(options.FirstCalls, notes)));
        await Step(options, "real-first-call", async () => rows.AddRange(await RealFirstCallFigure.MeasureAsync(options.RealFirstCalls, notes)));
        await Step(options, "round-trip", async () => rows.AddRange(await RoundTripFigure.MeasureAsync(options.RoundTrips)));
        await Step(options, "proxy", async () => rows.AddRange(await ProxyFigure.MeasureAsync(options.RoundTrips)));
        await Step(options, "channels", async () => rows.AddRange(await ChannelFigure.MeasureAsync(options.ChannelMessages, Math.Min(options.RoundTrips, 10_000), options.ChannelRepetitions)));
        await Step(options, "memory", async () => rows.AddRange(await MemoryFigure.MeasureAsync(options.MemoryIsolates, notes)));
        if (options.Processes is { } processes)
        {
            await Step(options, "process", async () => rows.AddRange(await ProcessFigure.MeasureAsync(processes, peers: options.Peers is not null, notes)));
            await Step(options, "child-proxy", async () => rows.AddRange(await ChildProxyFigure.MeasureAsync(processes.RoundTrips)));
            await Step(options, "child-channels", async () => rows.AddRange(await ChildChannelFigure.MeasureAsync(Math.Min(options.ChannelMessages, 200_000), options.ChannelRepetitions)));
        }

        await Step(options, "map", async () => rows.AddRange(await MapFigure.MeasureAsync(options.Map.SlowItems, options.Map.FastItems, options.Map.Repetitions, notes)));
        await Step(options, "cluster", async () => rows.AddRange(await ClusterFigure.MeasureAsync(options.Ci, notes)));
        if (options.Peers is { } peers)
        {
            await Step(options, "peers", async () => rows.AddRange(await PeersFigure.MeasureAsync(peers, notes)));
        }

        Console.WriteLine();
        Console.Write(Report.ConsoleTable(rows));
        foreach (string note in notes)
        {
            Console.WriteLine("note: " + note);
        }

        Console.WriteLine($"total {total.Elapsed.TotalSeconds:N1} s");
        if (options.WritePath is { } path)
        {
            string full = Path.GetFullPath(path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            await File.WriteAllTextAsync(full, Report.Markdown(rows, notes, machine, options, DateTime.UtcNow));
            Console.WriteLine($"wrote {full}");
        }

        return 0;
    }

    private static async Task Step(QuickOptions options, string name, Func<Task> measure)
    {
        if (!options.Runs(name))
        {
            return;
        }

        var watch = Stopwatch.StartNew();
        Console.Write($"  {name}...");
        await measure();
        Console.WriteLine($" {watch.Elapsed.TotalSeconds:N1} s");
    }
}
