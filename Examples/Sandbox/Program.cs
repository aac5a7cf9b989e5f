// Untrusted and runaway code, contained in child processes.
//
// "Plugins" here stand for code you do not control: user scripts, third-party extensions, legacy libraries with
// unknown failure modes. In an in-process isolate such code cannot be killed, cannot be capped in memory, and a stack
// overflow or Environment.Exit in it ends your whole process. With Placement = ChildProcess the same calls run in a
// child process: a runaway call is killed after a deadline, a memory hog meets its limit, a crash ends only the child,
// and the host keeps serving. Run with --self-test to exit 0 only when every case behaved as described.
using System.Diagnostics;
using Isolates;

bool selfTest = args.Contains("--self-test");
var failures = new List<string>();
void Expect(bool condition, string what)
{
    Console.WriteLine($"  {(condition ? "ok  " : "FAIL")} {what}");
    if (!condition)
    {
        failures.Add(what);
    }
}

var sandbox = new IsolateOptions
{
    Name = "plugin",
    Placement = IsolatePlacement.ChildProcess,
    MemoryLimit = 128L * 1024 * 1024,          // GC heap cap for the plugin's process
    CloseTimeout = TimeSpan.FromSeconds(2),    // a plugin that ignores close is killed after this
};

// Pre-warm one child, so each plugin run after the first does not wait for a process start (~70 ms).
await Isolate.KeepWarm(1, sandbox);

// Runs one plugin call with a deadline; whatever happens, the host learns how it ended.
async Task<string> RunPluginAsync(string plugin, Func<Isolate, Task<string>> call, TimeSpan deadline)
{
    await using Isolate iso = await Isolate.CreateAsync(sandbox);
    Task<string> work = call(iso);
    if (await Task.WhenAny(work, Task.Delay(deadline)) != work)
    {
        await iso.KillAsync(); // a thread cannot be killed in .NET; a process can
    }

    try
    {
        return $"{plugin}: returned {await work}";
    }
    catch (IsolateException ex)
    {
        IsolateExit exit = await iso.Exited.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        return $"{plugin}: {exit.Reason} ({ex.GetType().Name})";
    }
}

var watch = Stopwatch.StartNew();
Console.WriteLine($"host process {Environment.ProcessId}: running plugins in child processes");

string result = await RunPluginAsync("well-behaved", iso => iso.CallAsync(Plugins.WordCount, "the quick brown fox"), TimeSpan.FromSeconds(10));
Console.WriteLine(result);
Expect(result == "well-behaved: returned 4 words", "a well-behaved plugin runs and returns its result");

result = await RunPluginAsync("runaway", iso => iso.CallAsync(Plugins.Spin), TimeSpan.FromMilliseconds(500));
Console.WriteLine(result);
Expect(result.StartsWith("runaway: Killed", StringComparison.Ordinal), "a runaway plugin is killed at its deadline");

result = await RunPluginAsync("memory hog", iso => iso.CallAsync(Plugins.Hoard), TimeSpan.FromSeconds(20));
Console.WriteLine(result);
Expect(result.StartsWith("memory hog: MemoryLimitExceeded", StringComparison.Ordinal), "a memory hog meets its limit, not the host's memory");

result = await RunPluginAsync("stack overflow", iso => iso.CallAsync(Plugins.Overflow, 0), TimeSpan.FromSeconds(20));
Console.WriteLine(result);
Expect(result.StartsWith("stack overflow: Crashed", StringComparison.Ordinal), "a stack overflow ends only the plugin's process");

result = await RunPluginAsync("exit", iso => iso.CallAsync(Plugins.Quit), TimeSpan.FromSeconds(10));
Console.WriteLine(result);
Expect(result.StartsWith("exit: Crashed", StringComparison.Ordinal), "Environment.Exit ends only the plugin's process");

result = await RunPluginAsync("after all that", iso => iso.CallAsync(Plugins.WordCount, "the host is still here"), TimeSpan.FromSeconds(10));
Console.WriteLine(result);
Expect(result == "after all that: returned 5 words", "the host kept running and serves the next plugin");

await Isolate.KeepWarm(0, sandbox);
Console.WriteLine($"done in {watch.ElapsedMilliseconds} ms; isolates still alive: {Isolate.All.Count}");
return selfTest && failures.Count > 0 ? 1 : 0;

/// <summary>Stand-ins for code you do not control.</summary>
public static class Plugins
{
    public static string WordCount(string text) => $"{text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length} words";

    public static string Spin()
    {
        while (true)
        {
            Thread.SpinWait(1_000); // ignores every token: only a kill ends it
        }
    }

    private static readonly List<byte[]> Hoarded = [];

    public static string Hoard()
    {
        while (true)
        {
            Hoarded.Add(new byte[1024 * 1024]);
        }
    }

    public static string Overflow(int depth) => Overflow(depth + 1) + "!";

    public static string Quit()
    {
        Environment.Exit(3);
        return "unreachable";
    }
}
