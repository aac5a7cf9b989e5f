using System.Globalization;
using System.Reflection;
using System.Text;

namespace Isolates.Benchmarks.Quick;

/// <summary>Renders the rows as a console table and as docs/performance.md.</summary>
internal static class Report
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string ConsoleTable(IReadOnlyList<Row> rows)
    {
        var text = new StringBuilder();
        text.AppendLine(Invariant, $"{"figure",-72} {"unit",-4} {"Isolates p50",12} {"p99",10}   {"floor p50",10} {"p99",10} {"ratio",7}");
        foreach (Row row in rows)
        {
            text.AppendLine(Invariant, $"{row.Figure,-72} {row.Unit,-4} {Format(row.Isolates.P50),12} {Format(row.Isolates.P99),10}   {Format(row.FloorSummary.P50),10} {Format(row.FloorSummary.P99),10} {FormatRatio(row.Ratio),7}");
            text.AppendLine(Invariant, $"{"  floor: " + row.Floor,-72}");
        }

        return text.ToString();
    }

    public static string Markdown(IReadOnlyList<Row> rows, IReadOnlyCollection<string> notes, MachineInfo machine, QuickOptions options, DateTime utcNow)
    {
        var md = new StringBuilder();
        md.AppendLine("# Performance");
        md.AppendLine();
        md.AppendLine("This file is written by the benchmark tool; do not edit it by hand, rerun it from the repository root:");
        md.AppendLine();
        md.AppendLine("```");
        md.AppendLine("dotnet run -c Release --project tools/Isolates.Benchmarks -- --quick --write docs/performance.md");
        md.AppendLine("```");
        md.AppendLine();
        md.AppendLine("The quick mode is a Stopwatch harness that takes seconds (`--ci` shrinks it further) and asserts nothing about speed. " +
            "Each Isolates figure stands beside its *floor*: the same job done with nothing but what .NET itself offers, measured " +
            "in the same run, alternating with the Isolates measurement where the figure allows. The floor is the price of the design (a private copy of the " +
            "user's assemblies and a thread of its own); the ratio is what the runtime adds on top. The machine is shared and noisy: " +
            "compare ratios, not absolute times across runs.");
        md.AppendLine();
        md.AppendLine("What each floor is:");
        md.AppendLine();
        md.AppendLine("- **spawn**: a new collectible `AssemblyLoadContext`, `LoadFromAssemblyPath` of the benchmark assembly, and a new dedicated " +
            "thread (with a blocking inbox) that finds `Workload.Answer` by reflection, calls it and completes a task the caller awaits. " +
            "Timed: from before `Isolate.CreateAsync` until the first `CallAsync(Workload.Answer)` has returned its result to the caller. " +
            "Closing is not in it; it is timed on its own row (`CloseAsync` with the default `WaitForUnload = true`, i.e. until the " +
            "context is verified collected), beside a floor that stops and joins the thread, unloads the context and runs full GCs until a weak reference to it is dead. " +
            "After every close (both kinds) the harness waits, untimed, for the finalizer thread, where the unloaded context's native teardown runs, " +
            "so that work is not billed to the next measurement.");
        md.AppendLine("- **spawn, pre-warmed**: the same spawn with `Isolate.KeepWarm(1)`: a spare isolate (context, thread, entry assembly " +
            "loaded) is made in the background, untimed, before each sample; `CreateAsync` hands it out. Same floor as spawn. " +
            "**With warm-up**: the spares are made with `IsolateOptions.WarmUp = [Workload.Answer]` (`KeepWarm(1, options)`), so each has " +
            "already called the function the request then calls, in the background: what remains is the hand-out and one call to a sleeping " +
            "thread. Issue 12 asks for a p50 of at most 0.1 ms (Proto.Actor's and Akka's spawn to first reply is ~0.1 ms).");
        md.AppendLine("- **real first call**: a real workload, `JsonWork.RoundTrip` (`Targets/JsonWork.cs`: 50 records serialized and read back " +
            "with System.Text.Json in reflection mode), as the first call in a fresh isolate made (untimed, with one trivial call) just before, for each way of " +
            "making one: collectible (the default), `Collectible = false`, and the benchmark assembly in `SharedAssemblies` (System.Text.Json " +
            "itself is framework, always shared). Floor: the host's own first call of the same function in a fresh process (a child `dotnet` " +
            "process of this benchmark started with a hidden flag; it includes System.Text.Json's start-up in that process). A note gives the " +
            "process's first isolates, which pay that start-up too. The pre-warmed rows time `CreateAsync` plus the first call on spares made " +
            "with `WarmUp = [JsonWork.RoundTrip]`, beside the host's warm call (median of 200 calls in this process). Unload checks are " +
            "skipped: System.Text.Json's reflection caches keep collectible contexts alive. Issue 12 asks for the recommended configuration " +
            "within 1.5x of the host's cold first call, and a pre-warmed, warmed-up isolate within 2x of the host's warm call.");
        md.AppendLine("- **channels**: one-way streaming from a producer isolate to a consumer isolate through `IsolateChannel.CreateBounded<T>(1024)`, " +
            "the stages written with `TryWrite`/`TryRead` loops (`Targets/Streaming.cs`), for `int` (handed over as it is) and for a " +
            "`[Shareable]` record of three fields (encoded by the writer, rebuilt by the reader as its own type), in millions of messages per " +
            "second (higher is better). Floors: a raw bounded `Channel<int>` (for the record row, `Channel<Tick>`, the objects passed " +
            "by reference) of the same capacity (single reader, single writer) between two dedicated threads in the same loops, waiting " +
            "synchronously when full or empty. Isolate channels that wait when full are a lock-free ring of their own (docs/design.md), " +
            "not the framework's bounded channel the floor uses. Allocation is all managed bytes the process " +
            "allocated during a streaming run, per message. The ping-pong row is one `WriteAsync` to an isolate echoing through a second " +
            "bounded channel and one `ReadAsync` of its reply, per sample.");
        md.AppendLine("- **first call**: the isolate (or the bare context and its thread) is created untimed just before; only the first call is timed. " +
            "The floor makes the call by reflection on the bare context's thread; for the record it builds the context's own `Point` " +
            "with its constructor by reflection and reads `X` and `Y` of the result back by reflection, the least a copying call must do. " +
            "`Point` is a `[MessagePackObject]` (reflection codec); the `[Shareable]` row passes a `Tick`, which crosses through the codec " +
            "the source generator wrote into the benchmark assembly (compiled in each fresh isolate), beside the same `Point` floor.");
        md.AppendLine("- **round trip**: one awaited `CallAsync(Workload.Identity, i)` at a time on a running isolate. Floors: (a) two threads passing " +
            "a value through two `SemaphoreSlim` (synchronous on both sides, no task and no thread-pool hop); (b) a dedicated thread " +
            "draining an unbounded `Channel<(int, TaskCompletionSource<int>)>` (same short spin before blocking as the isolate's queue), " +
            "replying through a `TaskCompletionSource` with `RunContinuationsAsynchronously`, awaited from the thread pool: the shape of an isolate call without its machinery.");
        md.AppendLine("- **memory**: N idle isolates alive at once, each after one call; growth of VmRSS (`/proc/self/status`) and of the managed heap " +
            "(`GC.GetTotalMemory`) after aggressive full collections, divided by N. Floor: N collectible contexts, each with the assembly loaded, " +
            "one reflective call made and a dedicated thread blocked waiting for work. Isolates are measured first, so memory the process " +
            "keeps from the first batch can only flatter the floor. These are averages, so they have no p99.");
        md.AppendLine("- **process** (child-process isolates, `IsolatePlacement.ChildProcess`; `--only process`): the floor is a bare " +
            "framework-dependent app of its own (`tools/Isolates.Benchmarks.Floor`, built with the benchmarks, shipped nowhere) started the " +
            "way a child isolate is (`dotnet exec --runtimeconfig --depsfile app.dll`, standard streams redirected), which connects to a Unix " +
            "domain socket this process listens on and answers frames in the child isolate's framing (`[int32 length][byte type][int64 id][body]`), " +
            "reading with blocking receives. **Spawn**: `Isolate.CreateAsync` with `Placement = ChildProcess` until the first " +
            "`CallAsync(Workload.Answer)` has returned (closing untimed, on its own row: `CloseAsync` until the child exited), alternating " +
            "with the floor app's start until its answer to one frame; a row gives the part before the call (`CreateAsync`, until the child's " +
            "isolate is ready, beside the floor app's start until it connected), another the CPU time (user + system, from `/proc/<pid>/stat`, " +
            "in 10 ms ticks) the child had used when its first answer arrived, beside the floor app's: unlike wall time, other processes on a " +
            "loaded machine cannot inflate it. **Pre-warmed**: `KeepWarm(1, options)` with the same " +
            "placement; before each sample the harness waits for the spare and 150 ms more, so the child's start-up has settled; the refill " +
            "a hand-out starts runs in the background meanwhile, as it would for a user. **With warm-up**: spares made with " +
            "`WarmUp = [Workload.Answer]`, so the child has made that call before it is handed out. **Round trip**: one awaited " +
            "`CallAsync(Workload.Identity, i)` at a time on a running child-process isolate, in blocks alternating with three floors over " +
            "the floor app, with requests as large as the call's frame (its header names the method by assembly identity and token) and " +
            "answers as small as its result's: (a) send and blocking receive on the caller's thread, the app answering on the thread that " +
            "read (the least two processes can do); (b) this process shaped like the child link: a dedicated reader thread with blocking " +
            "receives completes a `TaskCompletionSource` (continuations asynchronous) the caller awaits; (c) as (b), and the app's reader " +
            "hands each frame to a second thread (woken through a semaphore) that answers, as a child's pipe reader hands a call to its " +
            "isolate's thread. The steps from (a) to (c) are the two thread hops the design adds; the ratio over (c) is what the runtime adds " +
            "on top. Issue 14 asks for the round trip within 1.5x of the floor. **Memory**: N idle child-process isolates, each after one " +
            "call, one second after the last start: each child's VmRSS (`/proc/<pid>/status`) and Pss (`/proc/<pid>/smaps_rollup`: shared " +
            "pages, such as the framework's files, divided among the processes that map them, so closer to what each child adds), averaged, " +
            "beside N floor apps, each after one answer; and the growth of this process's own RSS per child (its reader thread, `Process`, " +
            "output readers). *Process peers* (unless `--no-peers`; their rows come last, run by a script while this process waits, beside " +
            "the Isolates samples above): Node.js `child_process.fork` (`Peers/node/child_process.js`: fork until the reply to the first " +
            "`process.send`, and `process.send` ping-pong over its IPC channel, JSON-serialized) and Python `multiprocessing` with its default " +
            "start method (`Peers/python/multiprocessing_peer.py`: a `Process` running an echo loop on a `Pipe`, started until the reply " +
            "to the first `send`, and `send`/`recv` ping-pong, pickled); a forked Python child starts as a copy of an interpreter already " +
            "running, which no .NET process can do. **Proxy calls from a child** (`--only child-proxy`): isolate code in a child-process isolate awaits `IEcho.EchoAsync(i)` one call at a time (`Targets/ChildProxyCalls.cs`, timed in the child) on (a) a host service (`IsolateOptions.HostServices`) and (b) an object living in an in-process isolate of the host (its proxy passed to the child), in blocks of 500 alternating with the host's own `CallAsync(Workload.Identity, i)` on the same child, the floor (the round trip above, measured again in the same run). Both cross the pipe both ways; the ratio is what the host's side of a child's proxy call adds (the call decoded and made as the host's own proxy call, on the thread pool or on the object's isolate's thread, and the answer encoded), for (b) with the hop to that isolate's thread. The allocation row counts this process's managed bytes per call over one more block of each (not the child's). Streaming (`--only child-channels`): ints and `[Shareable]` 3-field records from the host through a bounded channel (1024) whose reader is passed to a child-process isolate, which writes each item (records transformed as its own type) to a second channel whose writer it was passed, read back by the host (`Targets/ChildStreaming.cs`), in millions of messages per second, beside the same pipeline through an in-process isolate; the bridge sends one frame per child write, so a completed write is always on the pipe.");
        md.AppendLine("- **map** (the parallel map of `IsolatePool`): `pool.MapAsync(inputs, Arithmetic.Mix)` on a pool of one isolate per core, " +
            "results in input order, beside three floors over the same inputs in the same process: (a) the plain sequential loop on one thread, " +
            "(b) `Parallel.For` on the thread pool, storing each result at its index (ordered, like `MapAsync`), (c) `Parallel.ForEach` over " +
            "index ranges (`Partitioner.Create(0, n)`, one delegate call per range, results stored at their index), which issue 4 names. Here the floor is not a cost " +
            "to approach but what a user would otherwise write: the loop is what the map must beat, `Parallel.For` what it must match. " +
            "The work is a deterministic arithmetic loop (`Targets/Arithmetic.cs`, a dependent multiply-add-xor chain compiled with " +
            "`AggressiveOptimization` so the host runs the same fully optimized code as the isolates, which get no tiering) whose iteration " +
            "count is calibrated once at the start to about 1 ms and to about 10 µs per item; an item is one `long` carrying its seed and that " +
            "count, so it crosses as it is. One untimed repetition warms up (each isolate compiles `Mix`, the thread pool grows); then each " +
            "repetition runs the four ways once, in a rotating order, each after a full collection, and checks that all three returned the " +
            "same results in the same order. Wall times are in ms; the speedup rows divide the loop's time by each way's time in the same " +
            "repetition, so their ratio is `MapAsync`'s speedup over `Parallel.For`'s. The overhead rows give the time per item spent beyond " +
            "the work itself, two ways: from wall time, (wall time × cores − loop time) / items, which counts every core as busy for the whole " +
            "wall time, so cores left idle count, and so does time other processes took; and from the process's CPU time " +
            "(`Environment.CpuUsage`), (CPU time − the loop's CPU time) / items, only what this process spent, which the rest of a shared " +
            "machine cannot inflate. Neither has a ratio, because `Parallel.For`'s overhead is close to zero. There are only a few " +
            "repetitions, so the p99 column is the worst one: the slowest time, the highest overhead, or (for speedups) the lowest speedup. " +
            "A note under the table says how many cores other processes kept busy meanwhile (from `/proc/stat`, minus this process's own " +
            "CPU time), since the load average cannot tell. " +
            "Issue 4 asks, on this 2-core machine, for at least 1.8x the loop and 0.95x `Parallel.For` with ~1 ms items, and at most 5 µs " +
            "of overhead per item with ~10 µs items.");
        md.AppendLine("- **peers** (leave them out with `--no-peers`): what a user would pick instead of Isolates, measured in the same run " +
            "and put in the floor column, so the ratio is Isolates over the peer (below 1 for times, above 1 for rates, means Isolates is faster). " +
            "Unlike the floors above, a peer does not do the same job: it gives fewer guarantees, which is what it saves. " +
            "*In-process .NET actors*, Proto.Actor and Akka.NET with their defaults (thread-pool dispatcher, unbounded mailbox, Proto's shared " +
            "request futures; Akka's logging turned down), one actor system each, alternating with Isolates block by block after a warm-up block: " +
            "(a) **round trip**: one awaited `RequestAsync<int>` (Proto) or `Ask<int>` (Akka) to a running echo actor, beside one awaited " +
            "`CallAsync(Workload.Identity, i)` on a running isolate, in blocks of 250, and the managed bytes the whole process allocated per " +
            "call over one more untimed block of each; (b) **spawn to first reply**: spawning a new echo actor " +
            "(`Spawn` / `ActorOf`, props made once) until the reply to its first request, beside `Isolate.CreateAsync` until the first " +
            "`CallAsync(Workload.Answer)` returns; stopping the actor and closing the isolate (with its verified unload) are untimed, and each " +
            "is followed by a full collection; (c) **streaming**: a producer actor that, on start, tells ints 0..N-1 to a new counting actor, " +
            "timed until the counting actor has processed the last one, beside a producer isolate writing the same ints to a consumer isolate " +
            "through `IsolateChannel.CreateBounded<int>(1024)` (the stages of the channel figure). The guarantees differ: an actor message is " +
            "passed by reference (a boxed int here; for a mutable object both sides would share it), nothing is copied, actors share every " +
            "static and the whole heap with each other and the caller, a fault is contained only as far as the supervisor's restart goes, " +
            "mailboxes are unbounded (the producer never waits), and an actor runs on whatever thread-pool thread is free, which is often the " +
            "thread that sent the request, so a round trip may involve no other thread at all. An isolate call crosses to the isolate's own " +
            "thread, its arguments and result are copied (rebuilt as the receiver's own types for records), the isolate has its own statics " +
            "and can be unloaded, and the channel is bounded, so the producer waits when the consumer falls behind. " +
            "On this shared machine, waking another thread costs either a few µs or ~60 µs, in stretches of seconds: Isolates' round trip " +
            "(and the floors above) pay it on every call, the actors' far less often, so compare the peer round-trip rows over several runs. " +
            "*Out-of-process peers*, each measured only when its program is on PATH (otherwise a note says it was not installed), by a small " +
            "script kept in `tools/Isolates.Benchmarks/Peers/` that prints JSON, run after the in-process part while this process waits, with " +
            "the same sizes and its own warm-up; their rows stand beside the Isolates samples taken just before (same run, not interleaved). " +
            "Node.js `worker_threads` (`Peers/node/worker_threads.js`): round trip = one `postMessage` to a running echo worker until its " +
            "reply; spawn = `new Worker` until the reply to its first message (`terminate` untimed); streaming = the main thread posts ints " +
            "to a counting worker, timed until the worker reports the last. Messages are structured-cloned (copied), each worker has its own " +
            "globals, ports are unbounded. Python subinterpreters (`Peers/python/interpreters.py`, Python 3.14+ `concurrent.interpreters` only; " +
            "older versions have no public API and are skipped with a note): round trip = `InterpreterPoolExecutor(max_workers=1)." +
            "submit(int, i).result()`; spawn = `interpreters.create()` until its first `call(int, 42)` returns (`close` untimed); streaming = " +
            "ints through an unbounded interpreters queue to a thread running in another interpreter. Ruby Ractors are not measured (a note " +
            "says so). Numbers of other runtimes on this shared machine are as noisy as ours: read ratios from one run.");
        md.AppendLine();
        md.AppendLine("The full BenchmarkDotNet suites measure the same figures (`Suites/`, with `[MemoryDiagnoser]`; the memory suite prints " +
            "the resident and managed growth per isolate as `// growth` lines in its log; the map suite prints its calibration as a " +
            "`// calibration` line, and its Ratio column is time over the sequential loop, the inverse of a speedup). Run them from the " +
            "repository root, where BenchmarkDotNet finds the project to build; the last three commands are short checks of the round trip, " +
            "of the map and of the in-process peers alone (the peer suites' baseline is Isolates, so their Ratio column is the peer's time over Isolates'):");
        md.AppendLine();
        md.AppendLine("```");
        md.AppendLine("dotnet run -c Release --project tools/Isolates.Benchmarks -- --filter '*'");
        md.AppendLine("dotnet run -c Release --project tools/Isolates.Benchmarks -- --filter '*RoundTrip*' --job short");
        md.AppendLine("dotnet run -c Release --project tools/Isolates.Benchmarks -- --filter '*Map*' --job short");
        md.AppendLine("dotnet run -c Release --project tools/Isolates.Benchmarks -- --filter '*Peer*' --job short");
        md.AppendLine("```");
        md.AppendLine();
        md.AppendLine("## Results");
        md.AppendLine();
        md.AppendLine(Invariant, $"- Date: {utcNow:yyyy-MM-dd HH:mm} UTC");
        md.AppendLine(Invariant, $"- Isolates.Runtime: {RuntimeVersion()}");
        md.AppendLine(Invariant, $"- Machine: {machine}");
        md.AppendLine(Invariant, $"- Load average (1, 5, 15 min) when the run started: {machine.LoadAverage}");
        md.AppendLine(Invariant, $"- Command: `{options.CommandLine}`");
        md.AppendLine(Invariant, $"- Sizes: {options.Spawns} spawns, {options.FirstCalls} fresh isolates per first-call figure, {options.RealFirstCalls} per real-first-call figure, {options.RoundTrips:N0} round trips per variant, {options.MemoryIsolates:N0} idle isolates, {ProcessSizes(options.Processes)}, " +
            $"map: {options.Map.SlowItems:N0} items of ~1 ms and {options.Map.FastItems:N0} of ~10 µs, {options.Map.Repetitions} repetitions of each way, {PeerSizes(options.Peers)}");
        md.AppendLine();
        md.AppendLine("| figure | unit | Isolates p50 | Isolates p99 | floor | floor p50 | floor p99 | ratio (p50) |");
        md.AppendLine("| --- | --- | ---: | ---: | --- | ---: | ---: | ---: |");
        foreach (Row row in rows)
        {
            md.AppendLine(Invariant, $"| {Escape(row.Figure)} | {row.Unit} | {Format(row.Isolates.P50)} | {Format(row.Isolates.P99)} | {Escape(row.Floor)} | {Format(row.FloorSummary.P50)} | {Format(row.FloorSummary.P99)} | {FormatRatio(row.Ratio)} |");
        }

        if (notes.Count > 0)
        {
            md.AppendLine();
            md.AppendLine("Notes from this run:");
            md.AppendLine();
            foreach (string note in notes)
            {
                md.AppendLine(Invariant, $"- {note}");
            }
        }

        return md.ToString();
    }

    private static string ProcessSizes(ProcessSizes? sizes) => sizes is null
        ? "child processes: not measured"
        : string.Create(Invariant, $"child processes: {sizes.Spawns} spawns of each kind, {sizes.RoundTrips:N0} round trips per variant, {sizes.Children} idle children");

    private static string PeerSizes(PeerSizes? peers) => peers is null
        ? "peers: not measured (--no-peers)"
        : string.Create(Invariant, $"peers: {peers.Spawns:N0} spawns, {peers.RoundTrips:N0} round trips, {peers.Repetitions} streaming runs of {peers.Messages:N0} messages");

    // The version the build stamped, with the commit when built from a git checkout, so a number can be traced to its code.
    private static string RuntimeVersion() =>
        typeof(Isolate).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    // Generic type names would otherwise be read as HTML tags.
    private static string Escape(string cell) => cell.Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);

    private static string Format(double value) => double.IsNaN(value) ? "-" : value switch
    {
        >= 100 => value.ToString("N0", Invariant),
        >= 10 => value.ToString("N1", Invariant),
        _ => value.ToString("N2", Invariant),
    };

    private static string FormatRatio(double ratio) => double.IsNaN(ratio) ? "-" : ratio.ToString(ratio < 10 ? "N2" : "N1", Invariant) + "x";
}
