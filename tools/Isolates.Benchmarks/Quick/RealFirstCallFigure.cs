using System.Diagnostics;
using System.Globalization;
using Isolates.Benchmarks.Floors;
using Isolates.Benchmarks.Targets;

namespace Isolates.Benchmarks.Quick;

/// <summary>
/// A real workload's first call (<see cref="JsonWork.RoundTrip"/>: System.Text.Json in reflection mode) in a fresh
/// isolate, for each way of making one, beside the host's own first call of the same function in a fresh process (a
/// child process of this benchmark, started with <see cref="ChildFlag"/>) and the host's warm call. Collectible code
/// gets no ReadyToRun and no tiering, so every method the call reaches is JIT-compiled at full optimization in every
/// isolate; these rows show what each remedy (non-collectible, shared, warm-up) buys.
/// </summary>
internal static class RealFirstCallFigure
{
    /// <summary>The hidden flag that makes the benchmark print the host's cold and warm call of the workload and exit.</summary>
    public const string ChildFlag = "--host-first-call";

    private const int WarmCalls = 200;

    public static async Task<IReadOnlyList<Row>> MeasureAsync(int count, ICollection<string> notes)
    {
        Samples collectible = Samples.Milliseconds(count), pinned = Samples.Milliseconds(count), shared = Samples.Milliseconds(count);
        Samples warmed = Samples.Milliseconds(count), pinnedWarmed = Samples.Milliseconds(count);

        // The unload check is skipped: System.Text.Json's reflection caches keep a collectible context alive (see the
        // README), and waiting for that to be reported would dominate the run. Non-collectible contexts are never freed.
        var collectibleOptions = new IsolateOptions { UnloadTimeout = TimeSpan.Zero };
        var pinnedOptions = collectibleOptions with { Collectible = false };
        var sharedOptions = collectibleOptions with { SharedAssemblies = [typeof(JsonWork).Assembly.GetName().Name!] };
        var warmedOptions = collectibleOptions with { WarmUp = [JsonWork.RoundTrip] };
        var pinnedWarmedOptions = pinnedOptions with { WarmUp = [JsonWork.RoundTrip] };

        // One round first, reported in a note rather than the rows: the first isolate's call also pays the process's
        // one-time work (System.Text.Json's own start-up), which the host's cold figure includes and later isolates don't.
        Samples first = Samples.Milliseconds(3);
        for (int i = -1; i < count; i++)
        {
            await FirstCallAsync(collectibleOptions, i >= 0 ? collectible : first);
            await FirstCallAsync(pinnedOptions, i >= 0 ? pinned : first);
            await FirstCallAsync(sharedOptions, i >= 0 ? shared : first);
        }

        notes.Add("real first call: the process's first isolates (collectible, then non-collectible, then shared, before any other use of System.Text.Json in the process) took " +
            string.Join(" / ", first.Recorded.Select(v => v.ToString("F1", CultureInfo.InvariantCulture))) + " ms; the rows are the isolates made after them.");

        await PreWarmedAsync(warmedOptions, warmed, count);
        await PreWarmedAsync(pinnedWarmedOptions, pinnedWarmed, count);

        (Summary hostCold, Summary hostWarmInChild) = HostInFreshProcesses(Math.Max(3, count), notes);
        Samples hostWarm = Samples.Milliseconds(WarmCalls);
        for (int i = 0; i < WarmCalls; i++)
        {
            long start = Stopwatch.GetTimestamp();
            Check.Equal(50, JsonWork.RoundTrip());
            hostWarm.Add(start, Stopwatch.GetTimestamp());
        }

        notes.Add($"real first call: the host's warm call measured in a fresh child process (after {WarmCalls} calls) had p50 {hostWarmInChild.P50:F3} ms; the rows use the one measured in this process, after the isolates ran.");
        const string Cold = "host: the same function's first call in a fresh process (child `dotnet` process of the benchmark)";
        return
        [
            new Row("real first call, STJ reflection round trip: fresh collectible isolate (default)", "ms", collectible.Summarize(), Cold, hostCold),
            new Row("real first call: fresh isolate, Collectible = false", "ms", pinned.Summarize(), Cold, hostCold),
            new Row("real first call: fresh isolate, the user's assembly in SharedAssemblies", "ms", shared.Summarize(), Cold, hostCold),
            new Row("real first call: pre-warmed, WarmUp = [RoundTrip] (KeepWarm(1, ...)): CreateAsync + first call", "ms", warmed.Summarize(), "host: the same function's warm call", hostWarm.Summarize()),
            new Row("real first call: pre-warmed, Collectible = false + WarmUp: CreateAsync + first call", "ms", pinnedWarmed.Summarize(), "host: the same function's warm call", hostWarm.Summarize()),
        ];
    }

    /// <summary>The child process's side: the first call of the workload in this fresh process, then warm calls.</summary>
    public static int RunChild()
    {
        long start = Stopwatch.GetTimestamp();
        int first = JsonWork.RoundTrip();
        double coldMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        Samples warm = Samples.Milliseconds(WarmCalls);
        for (int i = 0; i < WarmCalls; i++)
        {
            long s = Stopwatch.GetTimestamp();
            first += JsonWork.RoundTrip() - 50;
            warm.Add(s, Stopwatch.GetTimestamp());
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{coldMs} {warm.Summarize().P50} {first}"));
        return 0;
    }

    private static async Task FirstCallAsync(IsolateOptions options, Samples samples)
    {
        Isolate isolate = await Isolate.CreateAsync(options);
        await isolate.CallAsync(Workload.Answer); // the isolate is running and has called once: only the workload's first call is timed
        Collector.Quiesce();
        long start = Stopwatch.GetTimestamp();
        int result = await isolate.CallAsync(JsonWork.RoundTrip);
        long end = Stopwatch.GetTimestamp();
        Check.Equal(50, result);
        samples.Add(start, end);
        await isolate.CloseAsync();
    }

    private static async Task PreWarmedAsync(IsolateOptions options, Samples samples, int count)
    {
        await Isolate.KeepWarm(1, options);
        for (int i = -1; i < count; i++)
        {
            while (Isolate.WarmCount < 1)
            {
                await Task.Delay(1);
            }

            Collector.Quiesce(); // the previous isolate's close (finalizers, a collection) is not billed to this sample
            long start = Stopwatch.GetTimestamp();
            Isolate isolate = await Isolate.CreateAsync(options);
            int result = await isolate.CallAsync(JsonWork.RoundTrip);
            long end = Stopwatch.GetTimestamp();
            Check.Equal(50, result);
            if (i >= 0)
            {
                samples.Add(start, end);
            }

            await isolate.CloseAsync();
        }

        await Isolate.KeepWarm(0, options);
    }

    private static (Summary Cold, Summary Warm) HostInFreshProcesses(int runs, ICollection<string> notes)
    {
        Samples cold = Samples.Values(runs), warm = Samples.Values(runs);
        string host = Environment.ProcessPath!;
        bool viaDotnet = Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase);
        for (int i = 0; i < runs; i++)
        {
            var start = new ProcessStartInfo(host) { RedirectStandardOutput = true, UseShellExecute = false };
            if (viaDotnet)
            {
                start.ArgumentList.Add(typeof(RealFirstCallFigure).Assembly.Location);
            }

            start.ArgumentList.Add(ChildFlag);
            using Process child = Process.Start(start)!;
            string output = child.StandardOutput.ReadToEnd();
            child.WaitForExit();
            string[] parts = output.Trim().Split(' ');
            if (child.ExitCode != 0 || parts.Length != 3 || parts[2] != "50")
            {
                notes.Add($"real first call: a child process failed (exit {child.ExitCode}, output '{output.Trim()}').");
                continue;
            }

            cold.AddValue(double.Parse(parts[0], CultureInfo.InvariantCulture));
            warm.AddValue(double.Parse(parts[1], CultureInfo.InvariantCulture));
        }

        return (cold.Summarize(), warm.Summarize());
    }
}
