using System.Diagnostics;
using Isolates.Benchmarks.Floors;
using Isolates.Benchmarks.Peers;
using Isolates.Benchmarks.Targets;

namespace Isolates.Benchmarks.Quick;

/// <summary>
/// Child-process isolates (<see cref="IsolatePlacement.ChildProcess"/>), each figure beside the bare floor app of
/// tools/Isolates.Benchmarks.Floor (<see cref="FloorApp"/>) in the same run: spawn to first reply (cold, pre-warmed,
/// pre-warmed with warm-up) and close, round trip, memory per idle child. Then, unless <c>--no-peers</c>, the process
/// peers a user would otherwise reach for (Node.js <c>child_process.fork</c>, Python <c>multiprocessing</c>), run by
/// their scripts after the rest while this process waits.
/// </summary>
internal static class ProcessFigure
{
    // A spare is ready once its child said so; this long more lets the child's start-up work that goes on in the
    // background (tiered compilation, the refill's own start) settle before the timed hand-out.
    private static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(150);

    public static async Task<IReadOnlyList<Row>> MeasureAsync(ProcessSizes sizes, bool peers, ICollection<string> notes)
    {
        if (FloorApp.Locate(out string why) is not { } app)
        {
            notes.Add($"process: not measured, {why}.");
            return [];
        }

        var rows = new List<Row>();
        var options = new IsolateOptions { Name = "bench child", Placement = IsolatePlacement.ChildProcess };
        Samples spawns = await SpawnsAsync(app, options, sizes.Spawns, rows);
        Samples roundTrips = await RoundTripsAsync(app, options, sizes.RoundTrips, rows);
        await MemoryAsync(app, options, sizes.Children, rows);

        // Streaming through channel ends passed to a child is its own figure (child-channels, ChildChannelFigure.cs).

        if (peers)
        {
            PeerRows(sizes, spawns.Summarize(), roundTrips.Summarize(), rows, notes);
        }

        return rows;
    }

    // Cold spawns alternate with floor-app starts, so drift on a noisy machine hits both alike; then the pre-warmed ways.
    private static async Task<Samples> SpawnsAsync(string app, IsolateOptions options, int count, List<Row> rows)
    {
        Samples spawn = Samples.Milliseconds(count), close = Samples.Milliseconds(count);
        Samples floorSpawn = Samples.Milliseconds(count), floorClose = Samples.Milliseconds(count);
        Samples create = Samples.Milliseconds(count), floorConnect = Samples.Milliseconds(count);
        Samples cpu = Samples.Values(count), floorCpu = Samples.Values(count);
        int warmup = Math.Max(2, count / 10);
        for (int i = -warmup; i < count; i++)
        {
            long start = Stopwatch.GetTimestamp();
            Isolate isolate = await Isolate.CreateAsync(options);
            long created = Stopwatch.GetTimestamp();
            int answer = await isolate.CallAsync(Workload.Answer);
            long spawned = Stopwatch.GetTimestamp();
            double childCpu = ProcessCpu.Milliseconds(isolate.ProcessId!.Value);
            await isolate.CloseAsync();
            long closed = Stopwatch.GetTimestamp();
            Check.Equal(42, answer);
            Check.Equal(IsolateExitReason.Closed, (await isolate.Exited).Reason);

            long floorStart = Stopwatch.GetTimestamp();
            var floor = FloorApp.Start(app);
            long floorConnected = Stopwatch.GetTimestamp();
            int floorAnswer = floor.Ask(42);
            long floorSpawned = Stopwatch.GetTimestamp();
            double floorChildCpu = ProcessCpu.Milliseconds(floor.ProcessId);
            floor.Dispose();
            long floorClosed = Stopwatch.GetTimestamp();
            Check.Equal(42, floorAnswer);
            if (i >= 0)
            {
                spawn.Add(start, spawned);
                create.Add(start, created);
                close.Add(spawned, closed);
                floorConnect.Add(floorStart, floorConnected);
                cpu.AddValue(childCpu);
                floorCpu.AddValue(floorChildCpu);
                floorSpawn.Add(floorStart, floorSpawned);
                floorClose.Add(floorSpawned, floorClosed);
            }
        }

        Samples warm = await PreWarmedAsync(options, count, warmup);
        Samples warmedUp = await PreWarmedAsync(options with { WarmUp = [Workload.Answer] }, count, warmup);
        const string Floor = "bare dotnet app (dotnet exec): start + connect to a Unix socket + answer one frame";
        Summary floorSummary = floorSpawn.Summarize();
        rows.Add(new Row("process spawn: CreateAsync(ChildProcess) + first CallAsync(Answer)", "ms", spawn.Summarize(), Floor, floorSummary));
        rows.Add(new Row("process spawn: of which CreateAsync (until the child's isolate is ready)", "ms", create.Summarize(),
            "of which start + connect (accepted)", floorConnect.Summarize()));
        rows.Add(new Row("process spawn: CPU time the child used until its first answer (10 ms ticks)", "ms", cpu.Summarize(),
            "CPU time the floor app used until its answer", floorCpu.Summarize()));
        rows.Add(new Row("process spawn, pre-warmed (KeepWarm(1, ChildProcess)): CreateAsync + first CallAsync(Answer)", "ms", warm.Summarize(), Floor, floorSummary));
        rows.Add(new Row("process spawn, pre-warmed with warm-up (WarmUp = [Answer]): CreateAsync + first CallAsync(Answer)", "ms", warmedUp.Summarize(), Floor, floorSummary));
        rows.Add(new Row("process close: CloseAsync until the child exited (untimed above)", "ms", close.Summarize(),
            "floor app: shut the socket down, the app exits, WaitForExit", floorClose.Summarize()));
        return spawn;
    }

    private static async Task<Samples> PreWarmedAsync(IsolateOptions options, int count, int warmup)
    {
        Samples samples = Samples.Milliseconds(count);
        await Isolate.KeepWarm(1, options);
        try
        {
            for (int i = -warmup; i < count; i++)
            {
                long waiting = Stopwatch.GetTimestamp();
                while (Isolate.WarmCount < 1)
                {
                    if (Stopwatch.GetElapsedTime(waiting) > TimeSpan.FromSeconds(60))
                    {
                        throw new TimeoutException("No pre-warmed child-process isolate was ready within 60 s.");
                    }

                    await Task.Delay(5);
                }

                await Task.Delay(Settle);
                long start = Stopwatch.GetTimestamp();
                Isolate isolate = await Isolate.CreateAsync(options);
                int answer = await isolate.CallAsync(Workload.Answer);
                long end = Stopwatch.GetTimestamp();
                await isolate.CloseAsync();
                Check.Equal(42, answer);
                if (i >= 0)
                {
                    samples.Add(start, end);
                }
            }
        }
        finally
        {
            await Isolate.KeepWarm(0, options);
        }

        return samples;
    }

    // Blocks of one-at-a-time round trips, the isolate and each floor in turn; round -1 warms up.
    private static async Task<Samples> RoundTripsAsync(string app, IsolateOptions options, int count, List<Row> rows)
    {
        int block = Math.Min(500, count);
        int rounds = Math.Max(1, count / block);
        Samples calls = Samples.Microseconds(count), sync = Samples.Microseconds(count), threaded = Samples.Microseconds(count), hopped = Samples.Microseconds(count);
        double allocated, floorAllocated;
        Isolate isolate = await Isolate.CreateAsync(options with { Name = "bench child round trip" });
        using FloorApp syncFloor = FloorApp.Start(app);
        using FloorApp threadedFloor = FloorApp.Start(app);
        using FloorApp hopFloor = FloorApp.Start(app, hop: true);
        threadedFloor.StartReader();
        hopFloor.StartReader();
        try
        {
            for (int round = -1; round < rounds; round++)
            {
                bool recorded = round >= 0;
                await TimeAsync(block, recorded ? calls : null, i => isolate.CallAsync(Workload.Identity, i));
                await TimeAsync(block, recorded ? sync : null, i => Task.FromResult(syncFloor.Ask(i)));
                await TimeAsync(block, recorded ? threaded : null, threadedFloor.AskAsync);
                await TimeAsync(block, recorded ? hopped : null, hopFloor.AskAsync);
            }

            allocated = await RoundTripFigure.AllocatedPerCallAsync(block, i => isolate.CallAsync(Workload.Identity, i));
            floorAllocated = await RoundTripFigure.AllocatedPerCallAsync(block, threadedFloor.AskAsync);
        }
        finally
        {
            await isolate.CloseAsync();
        }

        Summary summary = calls.Summarize();
        string frames = $"{FloorApp.RequestFrameSize}-byte request, 17-byte answer";
        rows.Add(new Row("process round trip: await CallAsync(Identity, int), child-process isolate", "µs", summary,
            $"floor app over a Unix socket ({frames}): send + blocking receive on the caller's thread, the app answers on its reading thread", sync.Summarize()));
        rows.Add(new Row("process round trip: (same samples)", "µs", summary,
            "the same, host shaped like the child link: blocking reader thread completes a TaskCompletionSource (async continuations), awaited", threaded.Summarize()));
        rows.Add(new Row("process round trip: (same samples)", "µs", summary,
            "the same, and the app's reader hands each frame to a second thread that answers (the child's hop to the isolate's thread)", hopped.Summarize()));
        rows.Add(new Row("process round trip: managed bytes allocated in this process per call", "B", Summary.Single(allocated, count),
            "the floor app shaped like the child link", Summary.Single(floorAllocated, count)));
        return calls;
    }

    internal static async Task TimeAsync(int count, Samples? samples, Func<int, Task<int>> call)
    {
        for (int i = 0; i < count; i++)
        {
            long start = Stopwatch.GetTimestamp();
            int echoed = await call(i);
            long end = Stopwatch.GetTimestamp();
            Check.Equal(i, echoed);
            samples?.Add(start, end);
        }
    }

    // N idle children, each after one call, then N floor apps, each after one answer: their own memory (from /proc) and
    // what each adds to this process.
    private static async Task MemoryAsync(string app, IsolateOptions options, int count, List<Row> rows)
    {
        ProcessMemory before = ProcessMemory.Settle();
        var isolates = new List<Isolate>(count);
        long rss = 0, pss = 0;
        try
        {
            for (int i = 0; i < count; i++)
            {
                Isolate isolate = await Isolate.CreateAsync(options with { Name = $"bench idle child {i}" });
                isolates.Add(isolate);
                Check.Equal(42, await isolate.CallAsync(Workload.Answer));
            }

            await Task.Delay(TimeSpan.FromSeconds(1)); // idle: start-up work in the background has finished
            ProcessMemory host = ProcessMemory.Settle().Since(before);
            foreach (Isolate isolate in isolates)
            {
                ChildMemory memory = ChildMemory.Of(isolate.ProcessId ?? throw new InvalidOperationException("A child-process isolate has no process id."));
                rss += memory.ResidentBytes;
                pss += memory.ProportionalBytes;
            }

            before = ProcessMemory.Settle();
            var floors = new List<FloorApp>(count);
            long floorRss = 0, floorPss = 0;
            ProcessMemory floorHost;
            try
            {
                for (int i = 0; i < count; i++)
                {
                    FloorApp floor = FloorApp.Start(app);
                    floors.Add(floor);
                    Check.Equal(42, floor.Ask(42));
                }

                await Task.Delay(TimeSpan.FromSeconds(1));
                floorHost = ProcessMemory.Settle().Since(before);
                foreach (FloorApp floor in floors)
                {
                    ChildMemory memory = floor.Memory();
                    floorRss += memory.ResidentBytes;
                    floorPss += memory.ProportionalBytes;
                }
            }
            finally
            {
                floors.ForEach(floor => floor.Dispose());
            }

            const double MiB = 1024 * 1024, KiB = 1024;
            string floorName = $"{count} bare dotnet apps (dotnet exec), each after one answer";
            rows.Add(new Row($"process memory: VmRSS per idle child ({count} alive, each after one call)", "MiB",
                Summary.Single(rss / MiB / count, count), floorName, Summary.Single(floorRss / MiB / count, count)));
            rows.Add(new Row("process memory: Pss per idle child (shared pages divided among the processes mapping them)", "MiB",
                Summary.Single(pss / MiB / count, count), floorName, Summary.Single(floorPss / MiB / count, count)));
            rows.Add(new Row("process memory: this process's RSS growth per child", "KiB",
                Summary.Single(host.ResidentBytes / KiB / count, count), "per floor app (its Process, socket, output readers)",
                Summary.Single(floorHost.ResidentBytes / KiB / count, count)));
        }
        finally
        {
            await Task.WhenAll(isolates.Select(isolate => isolate.CloseAsync()));
        }
    }

    // The process peers, after everything else, beside the Isolates samples taken above (same run, not interleaved).
    private static void PeerRows(ProcessSizes sizes, Summary spawn, Summary roundTrip, List<Row> rows, ICollection<string> notes)
    {
        TimeSpan timeout = TimeSpan.FromSeconds(120);
        foreach (ExternalPeer peer in (ExternalPeer[])[ExternalPeer.NodeFork, ExternalPeer.PythonMultiprocessing])
        {
            if (peer.Measure(sizes.Spawns, sizes.RoundTrips, timeout, out string why) is not { } figures)
            {
                notes.Add("process peers: " + why);
                continue;
            }

            string runtime = figures.Runtime + ", run after";
            rows.Add(new Row("process peer spawn to first reply: CreateAsync(ChildProcess) + first CallAsync(Answer)", "ms", spawn,
                $"{runtime}: {peer.SpawnWay}", figures.Spawn.Summarize()));
            rows.Add(new Row("process peer round trip: await CallAsync(Identity, int), child-process isolate", "µs", roundTrip,
                $"{runtime}: {peer.RoundTripWay}", figures.RoundTrip.Summarize()));
        }
    }
}
