using System.Diagnostics;
using System.Threading.Channels;
using Isolates.Benchmarks.Floors;
using Isolates.Benchmarks.Peers;
using Isolates.Benchmarks.Targets;

namespace Isolates.Benchmarks.Quick;

/// <summary>
/// Peers: what users would pick instead of Isolates, measured in the same run. The in-process .NET actor frameworks
/// (Proto.Actor, Akka.NET) alternate with Isolates block by block, so drift on a noisy machine hits them alike: request
/// to a running echo, spawn to first reply, one-way streaming of ints. Then, when installed, the out-of-process peers
/// (Node.js worker_threads, Python 3.14+ subinterpreters) run their own script with the same sizes, one after the
/// other while this process waits; their rows stand beside the Isolates samples taken just before. Each peer's figure
/// goes in the floor column, so a ratio below 1 (times) or above 1 (rates) means Isolates is faster.
/// </summary>
internal static class PeersFigure
{
    private const int Capacity = 1024;

    public static async Task<IReadOnlyList<Row>> MeasureAsync(PeerSizes sizes, ICollection<string> notes)
    {
        var peers = new List<IActorPeer>(2);
        var calls = new Measured(sizes);
        Measured[] actorCalls = [new Measured(sizes), new Measured(sizes)];
        try
        {
            peers.Add(new ProtoActorPeer()); // one at a time, so a peer that fails to start leaves the others disposed
            peers.Add(new AkkaPeer());
            await using Isolate isolate = await Isolate.CreateAsync(new IsolateOptions { Name = "peers" });
            await RoundTripsAsync(isolate, peers, sizes.RoundTrips, calls, actorCalls);
            await SpawnsAsync(peers, sizes.Spawns, calls, actorCalls);
            await StreamsAsync(peers, sizes, calls, actorCalls);
        }
        finally
        {
            foreach (IActorPeer peer in peers)
            {
                await peer.DisposeAsync();
            }
        }

        Collector.Quiesce();
        var rows = new List<Row>();
        Summary roundTrip = calls.RoundTrip.Summarize(), spawn = calls.Spawn.Summarize(), streaming = calls.Stream.Summarize(higherIsBetter: true);
        string callName = "await CallAsync(Identity, int), running isolate";
        for (int p = 0; p < peers.Count; p++)
        {
            string name = peers[p].Name;
            rows.Add(new Row($"peer round trip: {callName}", "µs", roundTrip,
                $"{name}: {peers[p].RequestName} to an echo actor", actorCalls[p].RoundTrip.Summarize()));
            rows.Add(new Row("peer round trip: managed bytes allocated per call (all threads)", "B", Summary.Single(calls.AllocatedPerCall, sizes.RoundTrips),
                $"{name}: the same request to the echo actor", Summary.Single(actorCalls[p].AllocatedPerCall, sizes.RoundTrips)));
            rows.Add(new Row("peer spawn to first reply: CreateAsync + first CallAsync(Answer)", "ms", spawn,
                $"{name}: spawn an echo actor + first {peers[p].RequestName}", actorCalls[p].Spawn.Summarize()));
            rows.Add(new Row($"peer streaming: int, isolate → isolate channel (bounded {Capacity})", "M msg/s", streaming,
                $"{name}: producer actor tells ints to a counting actor (unbounded mailbox)", actorCalls[p].Stream.Summarize(higherIsBetter: true)));
        }

        TimeSpan timeout = TimeSpan.FromSeconds(sizes.Spawns > 20 ? 300 : 60);
        foreach (ExternalPeer peer in (ExternalPeer[])[ExternalPeer.Node, ExternalPeer.Python])
        {
            if (peer.Measure(sizes.Spawns, sizes.RoundTrips, sizes.Messages, sizes.Repetitions, timeout, out string why) is not { } figures)
            {
                notes.Add("peers: " + why);
                continue;
            }

            string runtime = figures.Runtime + ", own process, run after";
            rows.Add(new Row($"peer round trip: {callName}", "µs", roundTrip,
                $"{runtime}: {peer.RoundTripWay}", figures.RoundTrip.Summarize()));
            rows.Add(new Row("peer spawn to first reply: CreateAsync + first CallAsync(Answer)", "ms", spawn,
                $"{runtime}: {peer.SpawnWay}", figures.Spawn.Summarize()));
            rows.Add(new Row($"peer streaming: int, isolate → isolate channel (bounded {Capacity})", "M msg/s", streaming,
                $"{runtime}: {peer.StreamingWay}", figures.Streaming.Summarize(higherIsBetter: true)));
        }

        notes.Add(ExternalPeer.FindOnPath("ruby") is null
            ? "peers: Ruby Ractors: not measured, 'ruby' is not installed (not on PATH)."
            : "peers: Ruby Ractors: not measured, the harness has no Ractor script yet (ruby is installed).");

        return rows;
    }

    // Blocks of one-at-a-time round trips, Isolates then each peer, in turn; block -1 warms everything up. The blocks
    // are short because on a loaded machine a wake-up of another thread flips between a few µs and tens of µs for
    // stretches of some thousand calls: short blocks spread those stretches over every contender.
    private static async Task RoundTripsAsync(Isolate isolate, IReadOnlyList<IActorPeer> peers, int count, Measured calls, Measured[] actorCalls)
    {
        int block = Math.Min(250, count);
        for (int round = -1; round < Math.Max(1, count / block); round++)
        {
            Samples? recorded = round >= 0 ? calls.RoundTrip : null;
            await TimeCallsAsync(block, recorded, i => isolate.CallAsync(Workload.Identity, i));
            for (int p = 0; p < peers.Count; p++)
            {
                await TimeCallsAsync(block, round >= 0 ? actorCalls[p].RoundTrip : null, peers[p].RequestAsync);
            }
        }

        calls.AllocatedPerCall = await RoundTripFigure.AllocatedPerCallAsync(block, i => isolate.CallAsync(Workload.Identity, i));
        for (int p = 0; p < peers.Count; p++)
        {
            actorCalls[p].AllocatedPerCall = await RoundTripFigure.AllocatedPerCallAsync(block, peers[p].RequestAsync);
        }
    }

    private static async Task TimeCallsAsync(int count, Samples? samples, Func<int, Task<int>> call)
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

    // Spawn to first reply, Isolates and each peer in turn; closing and stopping are untimed, and the unload an
    // isolate's close leaves on the finalizer thread is waited for, as in the spawn figure.
    private static async Task SpawnsAsync(IReadOnlyList<IActorPeer> peers, int count, Measured calls, Measured[] actorCalls)
    {
        for (int i = -Math.Max(5, count / 10); i < count; i++)
        {
            long start = Stopwatch.GetTimestamp();
            Isolate isolate = await Isolate.CreateAsync();
            int answer = await isolate.CallAsync(Workload.Answer);
            long end = Stopwatch.GetTimestamp();
            await isolate.CloseAsync();
            Check.Equal(42, answer);
            Collector.Quiesce();
            if (i >= 0)
            {
                calls.Spawn.Add(start, end);
            }

            for (int p = 0; p < peers.Count; p++)
            {
                long peerStart = Stopwatch.GetTimestamp();
                int reply = await peers[p].SpawnAndRequestAsync(42);
                long peerEnd = Stopwatch.GetTimestamp();
                await peers[p].StopSpawnedAsync();
                Check.Equal(42, reply);
                Collector.Quiesce();
                if (i >= 0)
                {
                    actorCalls[p].Spawn.Add(peerStart, peerEnd);
                }
            }
        }
    }

    // One-way streaming, Isolates (producer isolate → consumer isolate over a bounded channel) and each peer in turn.
    private static async Task StreamsAsync(IReadOnlyList<IActorPeer> peers, PeerSizes sizes, Measured calls, Measured[] actorCalls)
    {
        await using Isolate producer = await Isolate.CreateAsync(new IsolateOptions { Name = "peers producer" });
        await using Isolate consumer = await Isolate.CreateAsync(new IsolateOptions { Name = "peers consumer" });
        int messages = sizes.Messages;
        long expected = (long)messages * (messages - 1) / 2;
        for (int r = -1; r < sizes.Repetitions; r++)
        {
            Collector.Quiesce();
            Channel<int> channel = IsolateChannel.CreateBounded<int>(Capacity);
            long start = Stopwatch.GetTimestamp();
            Task<long> consuming = consumer.CallAsync(Streaming.ConsumeIntsAsync, channel.Reader);
            Task producing = producer.CallAsync(Streaming.ProduceIntsAsync, channel.Writer, messages);
            long sum = await consuming;
            await producing;
            long end = Stopwatch.GetTimestamp();
            Check.Equal(expected, sum);
            if (r >= 0)
            {
                calls.Stream.AddValue(Rate(messages, start, end));
            }

            for (int p = 0; p < peers.Count; p++)
            {
                Collector.Quiesce();
                long peerStart = Stopwatch.GetTimestamp();
                long peerSum = await peers[p].StreamAsync(messages);
                long peerEnd = Stopwatch.GetTimestamp();
                Check.Equal(expected, peerSum);
                if (r >= 0)
                {
                    actorCalls[p].Stream.AddValue(Rate(messages, peerStart, peerEnd));
                }
            }
        }
    }

    // Millions of messages per second.
    private static double Rate(int messages, long start, long end) => messages / ((end - start) / (double)Stopwatch.Frequency) / 1e6;

    /// <summary>The samples of one contender: round trips (µs), spawns (ms), streaming rates (M msg/s).</summary>
    private sealed class Measured(PeerSizes sizes)
    {
        public Samples RoundTrip { get; } = Samples.Microseconds(sizes.RoundTrips);

        public Samples Spawn { get; } = Samples.Milliseconds(sizes.Spawns);

        public Samples Stream { get; } = Samples.Values(sizes.Repetitions);

        /// <summary>Managed bytes the whole process allocated per round trip, over one untimed block.</summary>
        public double AllocatedPerCall { get; set; }
    }
}
