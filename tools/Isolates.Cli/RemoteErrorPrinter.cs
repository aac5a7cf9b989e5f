using System.Text.RegularExpressions;
using Spectre.Console;

namespace Isolates.Cli;

/// <summary>
/// Prints an exception that crossed from a script's isolate as a reader wants it: type, message, the inner chain,
/// and only the stack frames in the script's own files (with compiler-generated names made readable), not the wall
/// of runtime frames.
/// </summary>
internal static partial class RemoteErrorPrinter
{
    [GeneratedRegex(@"^\s*at (?<method>.+?) in (?<file>.+):line (?<line>\d+)\s*$")]
    private static partial Regex FrameWithLine();

    [GeneratedRegex(@"<<Main>\$>g__(?<name>[^|]+)\|[\d_]+")]
    private static partial Regex LocalFunction();

    /// <summary>Prints the error as one block (after <paramref name="header"/>, when given), so parallel copies' errors never interleave.</summary>
    public static void Print(Terminal terminal, IsolateExecutionException error, IReadOnlyCollection<string> scriptFiles, string prefix, string? header = null)
    {
        List<string> lines = header is null ? [] : [header];
        lines.Add($"{prefix}[red]error[/]: {Markup.Escape(error.RemoteType)}: {Markup.Escape(error.Message)}");
        lines.AddRange(ScriptFrames(error.RemoteStackTrace, scriptFiles).Select(frame => $"{prefix}   [grey]at[/] {Markup.Escape(frame)}"));
        for (IsolateExecutionException? inner = error.RemoteInnerException; inner is not null; inner = inner.RemoteInnerException)
        {
            lines.Add($"{prefix} [grey]--->[/] {Markup.Escape(inner.RemoteType)}: {Markup.Escape(inner.Message)}");
            lines.AddRange(ScriptFrames(inner.RemoteStackTrace, scriptFiles).Select(frame => $"{prefix}   [grey]at[/] {Markup.Escape(frame)}"));
        }

        terminal.ErrorLines(lines);
    }

    /// <summary>The frames of <paramref name="stackTrace"/> that are in the script's files, most recent first.</summary>
    public static IEnumerable<string> ScriptFrames(string? stackTrace, IReadOnlyCollection<string> scriptFiles)
    {
        if (string.IsNullOrEmpty(stackTrace))
        {
            yield break;
        }

        foreach (string line in stackTrace.Split('\n'))
        {
            Match match = FrameWithLine().Match(line.TrimEnd('\r'));
            if (!match.Success || !scriptFiles.Contains(match.Groups["file"].Value))
            {
                continue;
            }

            string method = LocalFunction().Replace(match.Groups["method"].Value, m => m.Groups["name"].Value)
                .Replace("Program.<Main>$(String[] args)", "<top-level statements>", StringComparison.Ordinal);
            yield return $"{method} in {Display(match.Groups["file"].Value)}:line {match.Groups["line"].Value}";
        }
    }

    /// <summary>A path relative to the current directory when it is below it, otherwise as it is.</summary>
    public static string Display(string path)
    {
        string relative = Path.GetRelativePath(Environment.CurrentDirectory, path);
        return relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? path : relative;
    }
}
