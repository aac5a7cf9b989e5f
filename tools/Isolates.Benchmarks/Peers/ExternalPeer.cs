using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Isolates.Benchmarks.Quick;

namespace Isolates.Benchmarks.Peers;

/// <summary>
/// A peer in another runtime (Node.js worker_threads, Python subinterpreters) measured by a small script kept beside
/// this file (copied to the output's Peers/ folder), which prints one JSON object the harness reads. The script runs
/// only when its program is on PATH; a peer that is missing, skips itself or fails becomes a note, never a failed run.
/// </summary>
internal sealed record ExternalPeer(string Name, string Program, string Script, string RoundTripWay, string SpawnWay, string? StreamingWay)
{
    public static readonly ExternalPeer Node = new("Node.js worker_threads", "node", "node/worker_threads.js",
        RoundTripWay: "postMessage ping-pong with an echo worker",
        SpawnWay: "new Worker + reply to its first postMessage",
        StreamingWay: "main thread posts ints to a counting worker (unbounded)");

    public static readonly ExternalPeer Python = new("Python subinterpreters", "python3", "python/interpreters.py",
        RoundTripWay: "InterpreterPoolExecutor(1).submit(int, i).result()",
        SpawnWay: "interpreters.create() + first call()",
        StreamingWay: "ints through an unbounded interpreters queue to another interpreter's thread");

    /// <summary>Node.js <c>child_process.fork</c>: a process peer of child-process isolates (no streaming figure).</summary>
    public static readonly ExternalPeer NodeFork = new("Node.js child_process", "node", "node/child_process.js",
        RoundTripWay: "process.send ping-pong with a forked echo child (IPC socket, JSON)",
        SpawnWay: "child_process.fork + reply to its first process.send",
        StreamingWay: null);

    /// <summary>Python <c>multiprocessing</c> with its default start method: a process peer of child-process isolates (no streaming figure).</summary>
    public static readonly ExternalPeer PythonMultiprocessing = new("Python multiprocessing", "python3", "python/multiprocessing_peer.py",
        RoundTripWay: "Pipe send/recv ping-pong with an echo Process (pickled)",
        SpawnWay: "Process(echo loop on a Pipe).start() + reply to its first send",
        StreamingWay: null);

    /// <summary>Runs the script with the given sizes; the figures, or null with <paramref name="why"/> set.</summary>
    public ExternalFigures? Measure(int spawns, int roundTrips, int messages, int repetitions, TimeSpan timeout, out string why) =>
        Measure([spawns, roundTrips, messages, repetitions], timeout, out why);

    /// <summary>Runs a script that measures spawns and round trips only (its streamingMsgPerSec is absent, so empty).</summary>
    public ExternalFigures? Measure(int spawns, int roundTrips, TimeSpan timeout, out string why) =>
        Measure([spawns, roundTrips], timeout, out why);

    private ExternalFigures? Measure(int[] sizes, TimeSpan timeout, out string why)
    {
        string? program = FindOnPath(Program);
        if (program is null)
        {
            why = $"{Name}: not measured, '{Program}' is not installed (not on PATH).";
            return null;
        }

        string script = Path.Combine(AppContext.BaseDirectory, "Peers", Script);
        if (!File.Exists(script))
        {
            why = $"{Name}: not measured, its script {script} is missing from the build output.";
            return null;
        }

        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(script);
        foreach (int size in sizes)
        {
            start.ArgumentList.Add(size.ToString(CultureInfo.InvariantCulture));
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {program}.");
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> errors = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            why = $"{Name}: not measured, the script did not finish within {timeout.TotalSeconds:N0} s and was stopped.";
            return null;
        }

        if (process.ExitCode != 0)
        {
            why = $"{Name}: not measured, the script failed (exit code {process.ExitCode}): {FirstLine(errors.Result)}";
            return null;
        }

        return Parse(output.Result, out why);
    }

    private ExternalFigures? Parse(string json, out string why)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            JsonElement root = document.RootElement;
            if (root.TryGetProperty("skipped", out JsonElement skipped))
            {
                why = $"{Name}: not measured, {skipped.GetString()}.";
                return null;
            }

            why = string.Empty;
            return new ExternalFigures(
                root.GetProperty("runtime").GetString() ?? Name,
                Read(root, "spawnMs"), Read(root, "roundTripUs"),
                StreamingWay is null ? Samples.Values(0) : Read(root, "streamingMsgPerSec", scale: 1e-6));
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            why = $"{Name}: not measured, its script printed something other than the expected JSON ({e.Message}).";
            return null;
        }
    }

    private static Samples Read(JsonElement root, string property, double scale = 1)
    {
        JsonElement values = root.GetProperty(property);
        var samples = Samples.Values(values.GetArrayLength());
        foreach (JsonElement value in values.EnumerateArray())
        {
            samples.AddValue(value.GetDouble() * scale);
        }

        return samples;
    }

    private static string FirstLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "(nothing on stderr)";

    /// <summary>The full path of <paramref name="program"/> in a PATH directory; null when it is not installed.</summary>
    public static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, program))
            .FirstOrDefault(File.Exists);
}

/// <summary>What a peer's script measured: spawn to first reply (ms), round trips (µs), streaming (M msg/s).</summary>
internal sealed record ExternalFigures(string Runtime, Samples Spawn, Samples RoundTrip, Samples Streaming);
