using System.Runtime.CompilerServices;

namespace Isolates.Scripting;

/// <summary>
/// What a running script knows about how it was started: its arguments, its file, and which of several parallel
/// copies it is (<c>isolates run --isolates N</c>). Read it from script code; every value belongs to the isolate the
/// script was started in (code in other isolates, including children the script creates, sees the defaults).
/// </summary>
/// <remarks>
/// Process-wide state such as <see cref="Environment"/> is shared by all isolates, so it cannot say which copy a
/// script is; this class keeps one record per isolate instead, dropped when the isolate is collected.
/// </remarks>
public static class ScriptEnvironment
{
    private static readonly ConditionalWeakTable<Isolate, ScriptRun> Runs = new();

    /// <summary>This copy's index, from 0 to <see cref="Count"/> - 1 (0 when only one copy runs, or outside a script).</summary>
    public static int Index => Find()?.Index ?? 0;

    /// <summary>How many copies of the script were started together (1 when only one runs, or outside a script).</summary>
    public static int Count => Find()?.Count ?? 1;

    /// <summary>The full path of the script's main file; null for a script given as text, or outside a script.</summary>
    public static string? ScriptPath => Find()?.ScriptPath;

    /// <summary>The script's arguments (the same as the top-level <c>args</c>); empty outside a script.</summary>
    public static IReadOnlyList<string> Args => Find()?.Args ?? [];

    internal static void Set(Isolate isolate, ScriptRun run) => Runs.AddOrUpdate(isolate, run);

    private static ScriptRun? Find() =>
        Isolate.Current is { } isolate && Runs.TryGetValue(isolate, out ScriptRun? run) ? run : null;

    /// <summary>One script run's facts, held per isolate (strings only, so nothing here keeps a context alive).</summary>
    internal sealed record ScriptRun(int Index, int Count, string? ScriptPath, IReadOnlyList<string> Args);
}
