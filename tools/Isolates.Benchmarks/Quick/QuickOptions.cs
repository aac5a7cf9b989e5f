namespace Isolates.Benchmarks.Quick;

/// <summary>The quick harness's command line: sizes (shrunk further by <c>--ci</c>), whether to measure the peers (null: <c>--no-peers</c>) and where to write the report.</summary>
/// <remarks>
/// This file is also compiled into the <c>isolates</c> tool (tools/Isolates.Cli), whose <c>bench</c> command checks its
/// options with <see cref="Parse"/> before it builds and runs this project: keep it free of the benchmark's other
/// types and packages.
/// </remarks>
internal sealed record QuickOptions(bool Ci, string? WritePath, int Spawns, int FirstCalls, int RoundTrips, int MemoryIsolates, MapSizes Map, string CommandLine, int ChannelMessages = 1_000_000, int ChannelRepetitions = 5, PeerSizes? Peers = null, int RealFirstCalls = 15, ProcessSizes? Processes = null)
{
    public const string Usage = "usage: --quick [--ci] [--no-peers] [--only FIGURE] [--write PATH]   (anything else runs BenchmarkDotNet, e.g. --filter '*')";

    /// <summary>The figures in the order they run; <c>--only</c> takes one of these names.</summary>
    public static readonly IReadOnlyList<string> Figures = ["spawn", "first-call", "real-first-call", "round-trip", "proxy", "channels", "memory", "process", "child-proxy", "child-channels", "map", "cluster", "peers"];

    /// <summary>The one figure to measure (<c>--only</c>), or null for all; a partial run cannot be written as the report.</summary>
    public string? Only { get; init; }

    /// <summary>Whether the figure named <paramref name="figure"/> runs in this invocation.</summary>
    public bool Runs(string figure) => Only is null || Only == figure;

    /// <summary>Parses the arguments; null (after printing why to <paramref name="errors"/>, stderr by default) when they are not understood.</summary>
    public static QuickOptions? Parse(string[] args, TextWriter? errors = null)
    {
        errors ??= Console.Error;
        bool ci = false, peers = true;
        string? write = null, only = null;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--quick":
                    break;
                case "--ci":
                    ci = true;
                    break;
                case "--no-peers":
                    peers = false;
                    break;
                case "--write" when i + 1 < args.Length:
                    write = args[++i];
                    break;
                case "--only" when i + 1 < args.Length && Figures.Contains(args[i + 1]):
                    only = args[++i];
                    break;
                default:
                    errors.WriteLine($"unknown or incomplete argument '{args[i]}' (--only takes one of: {string.Join(", ", Figures)})");
                    errors.WriteLine(Usage);
                    return null;
            }
        }

        if (only is not null && write is not null)
        {
            errors.WriteLine("--only measures one figure, and --write needs a report of them all: use one or the other.");
            return null;
        }

        if (only == "peers" && !peers)
        {
            errors.WriteLine("--only peers and --no-peers contradict each other");
            return null;
        }

        string commandLine = "dotnet run -c Release --project tools/Isolates.Benchmarks -- " + string.Join(' ', args);
        QuickOptions options = ci
            ? new QuickOptions(ci, write, Spawns: 40, FirstCalls: 20, RoundTrips: 6_000, MemoryIsolates: 100, new MapSizes(SlowItems: 48, FastItems: 5_000, Repetitions: 5), commandLine, ChannelMessages: 100_000, ChannelRepetitions: 3,
                Peers: peers ? new PeerSizes(Spawns: 10, RoundTrips: 3_000, Messages: 100_000, Repetitions: 3) : null, RealFirstCalls: 5,
                Processes: new ProcessSizes(Spawns: 5, RoundTrips: 2_000, Children: 2))
            : new QuickOptions(ci, write, Spawns: 200, FirstCalls: 100, RoundTrips: 20_000, MemoryIsolates: 1_000, new MapSizes(SlowItems: 200, FastItems: 20_000, Repetitions: 7), commandLine,
                Peers: peers ? new PeerSizes(Spawns: 100, RoundTrips: 20_000, Messages: 1_000_000, Repetitions: 5) : null,
                Processes: new ProcessSizes(Spawns: 20, RoundTrips: 10_000, Children: 4));
        return options with { Only = only };
    }
}

/// <summary>
/// Sizes of the parallel-map figure: items of ~1 ms and of ~10 µs (the same amount of work in the full run, 200 ms
/// for the loop), and how many repetitions of the three ways (odd, so the median is one of them).
/// </summary>
internal sealed record MapSizes(int SlowItems, int FastItems, int Repetitions);

/// <summary>
/// Sizes of the peers figure (<c>--no-peers</c> leaves it out): spawns to first reply, round trips, messages per
/// streaming run and streaming repetitions, the same for every peer, in process or not.
/// </summary>
internal sealed record PeerSizes(int Spawns, int RoundTrips, int Messages, int Repetitions);

/// <summary>Sizes of the child-process figure: spawns of each kind (and of the floor app), round trips, idle children.</summary>
internal sealed record ProcessSizes(int Spawns, int RoundTrips, int Children);
