using System.Diagnostics;
using Isolates.Benchmarks.Floors;
using Isolates.Benchmarks.Targets;

namespace Isolates.Benchmarks.Quick;

/// <summary>
/// Spawn: <see cref="Isolate.CreateAsync"/> plus the first call of a trivial method, timed until the caller has the
/// result. Closing is timed apart (it includes the verified unload), so neither figure hides in the other.
/// </summary>
internal static class SpawnFigure
{
    public static async Task<IReadOnlyList<Row>> MeasureAsync(int count, ICollection<string> notes)
    {
        Samples spawn = Samples.Milliseconds(count), floorSpawn = Samples.Milliseconds(count);
        Samples close = Samples.Milliseconds(count), floorClose = Samples.Milliseconds(count);
        int leaked = 0, floorLeaked = 0;
        int warmup = Math.Max(5, count / 10);

        // Isolate and floor alternate, so drift on a noisy machine hits both alike.
        for (int i = -warmup; i < count; i++)
        {
            long start = Stopwatch.GetTimestamp();
            Isolate isolate = await Isolate.CreateAsync();
            int answer = await isolate.CallAsync(Workload.Answer);
            long spawned = Stopwatch.GetTimestamp();
            await isolate.CloseAsync();
            long closed = Stopwatch.GetTimestamp();
            Check.Equal(42, answer);
            leaked += isolate.UnloadStatus == UnloadStatus.Unloaded ? 0 : 1;
            Collector.Quiesce();

            long floorStart = Stopwatch.GetTimestamp();
            BareIsolate bare = BareIsolate.Start();
            int floorAnswer = await bare.RunAsync(Reflective.Answer);
            long floorSpawned = Stopwatch.GetTimestamp();
            bool collected = Collector.UntilCollected(bare.Stop(), TimeSpan.FromSeconds(5));
            long floorClosed = Stopwatch.GetTimestamp();
            Check.Equal(42, floorAnswer);
            floorLeaked += collected ? 0 : 1;
            Collector.Quiesce();

            if (i >= 0)
            {
                spawn.Add(start, spawned);
                close.Add(spawned, closed);
                floorSpawn.Add(floorStart, floorSpawned);
                floorClose.Add(floorSpawned, floorClosed);
            }
        }

        // The same spawn with a spare ready (Isolate.KeepWarm): the refill happens, untimed, between samples.
        Samples warmSpawn = Samples.Milliseconds(count);
        await Isolate.KeepWarm(1);
        for (int i = -warmup; i < count; i++)
        {
            while (Isolate.WarmCount < 1)
            {
                await Task.Delay(1);
            }

            Collector.Quiesce();
            long start = Stopwatch.GetTimestamp();
            Isolate isolate = await Isolate.CreateAsync();
            int answer = await isolate.CallAsync(Workload.Answer);
            long spawned = Stopwatch.GetTimestamp();
            await isolate.CloseAsync();
            Check.Equal(42, answer);
            leaked += isolate.UnloadStatus == UnloadStatus.Unloaded ? 0 : 1;
            if (i >= 0)
            {
                warmSpawn.Add(start, spawned);
            }
        }

        await Isolate.KeepWarm(0);

        // Spares that ran the called function as their warm-up in the background (IsolateOptions.WarmUp): the request
        // then pays neither the isolate's creation nor its one-time first-call work (JIT, the call's plan inside).
        Samples warmedSpawn = Samples.Milliseconds(count);
        var warmed = new IsolateOptions { WarmUp = [Workload.Answer] };
        await Isolate.KeepWarm(1, warmed);
        for (int i = -warmup; i < count; i++)
        {
            while (Isolate.WarmCount < 1)
            {
                await Task.Delay(1);
            }

            Collector.Quiesce();
            long start = Stopwatch.GetTimestamp();
            Isolate isolate = await Isolate.CreateAsync(warmed);
            int answer = await isolate.CallAsync(Workload.Answer);
            long spawned = Stopwatch.GetTimestamp();
            await isolate.CloseAsync();
            Check.Equal(42, answer);
            leaked += isolate.UnloadStatus == UnloadStatus.Unloaded ? 0 : 1;
            if (i >= 0)
            {
                warmedSpawn.Add(start, spawned);
            }
        }

        await Isolate.KeepWarm(0, warmed);

        if (leaked + floorLeaked > 0)
        {
            notes.Add($"spawn: {leaked} isolates and {floorLeaked} bare contexts (of {count + warmup} each) were not collected after closing.");
        }

        return
        [
            new Row("spawn: CreateAsync + first CallAsync(Answer)", "ms", spawn.Summarize(),
                "new collectible ALC + LoadFromAssemblyPath + new thread + reflective call", floorSpawn.Summarize()),
            new Row("spawn, pre-warmed (Isolate.KeepWarm(1)): CreateAsync + first CallAsync(Answer)", "ms", warmSpawn.Summarize(),
                "new collectible ALC + LoadFromAssemblyPath + new thread + reflective call", floorSpawn.Summarize()),
            new Row("spawn, pre-warmed with warm-up (KeepWarm(1, WarmUp = [Answer])): CreateAsync + first CallAsync(Answer)", "ms", warmedSpawn.Summarize(),
                "new collectible ALC + LoadFromAssemblyPath + new thread + reflective call", floorSpawn.Summarize()),
            new Row("close: CloseAsync, unload verified (untimed above)", "ms", close.Summarize(),
                "stop + join thread, Unload, GC until collected", floorClose.Summarize()),
        ];
    }
}
