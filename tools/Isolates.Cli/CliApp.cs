using System.CommandLine;
using System.CommandLine.Parsing;
using Spectre.Console;

namespace Isolates.Cli;

/// <summary>
/// The command tree of the <c>isolates</c> tool, parsed and invoked by System.CommandLine (help, <c>--version</c>,
/// errors for unknown options). Takes its writers as parameters so tests run it in-process; output that scripts
/// write with <see cref="Console"/> goes to the process's console, as in any isolate.
/// </summary>
internal static class CliApp
{
    /// <summary>Parses <paramref name="args"/>, runs the command and returns the process exit code.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        var terminal = new Terminal(output, error);
        RootCommand root = Build(terminal);
        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // One line per mistake and the usage exit code, instead of System.CommandLine's help dump and exit 1.
            string help = parsed.CommandResult.Command is RootCommand ? "isolates --help" : $"isolates {parsed.CommandResult.Command.Name} --help";
            IEnumerable<ParseError> mistakes = parsed.Errors;
            if (parsed.CommandResult.Command is RootCommand && parsed.UnmatchedTokens.Count > 0)
            {
                // "isolates teleport" is one mistake, but the parser also reports "Required command was not provided"
                // (first): keep only the errors that name the unknown word, when there are such.
                ParseError[] named = [.. parsed.Errors.Where(e => parsed.UnmatchedTokens.Any(t => e.Message.Contains($"'{t}'", StringComparison.Ordinal)))];
                if (named.Length > 0)
                {
                    mistakes = named;
                }
            }

            foreach (ParseError mistake in mistakes)
            {
                terminal.ErrorLine($"[red]error[/]: {Markup.Escape(mistake.Message)} (see '{help}')");
            }

            return UsageError;
        }

        try
        {
            return await parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return Interrupted;
        }
    }

    /// <summary>The exit code for invalid command-line input (a usage error, as sysexits' EX_USAGE family and most tools use 2).</summary>
    internal const int UsageError = 2;

    /// <summary>
    /// A script path that is not there: a usage error. A "path" that starts with a dash is an option the command does not
    /// have (options go before the script path, so the parser took it for the script).
    /// </summary>
    internal static int MissingScript(Terminal terminal, FileInfo script, string command)
    {
        terminal.ErrorLine(script.Name.StartsWith('-')
            ? $"[red]error[/]: '{Markup.Escape(script.Name)}' is not an option of '{command}' (see 'isolates {command} --help')"
            : $"[red]error[/]: there is no script file at '{Markup.Escape(script.FullName)}' (see 'isolates {command} --help')");
        return UsageError;
    }

    /// <summary>The shell's exit code for "interrupted" (128 + SIGINT).</summary>
    private const int Interrupted = 130;

    /// <summary>
    /// A command cancelled by Ctrl+C (or the caller's token) exits 130. Without this the cancellation escapes into
    /// System.CommandLine's default exception handler, which makes it exit code 1, as if the script had failed.
    /// </summary>
    private static async Task<int> InterruptedOnCancelAsync(Task<int> command, CancellationToken cancellationToken)
    {
        try
        {
            return await command;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return Interrupted;
        }
    }

    private static RootCommand Build(Terminal terminal)
    {
        var root = new RootCommand(
            "Isolates: share-nothing parallelism for .NET. Run C# scripts (top-level statements, #load, #r) in isolates.");

        var isolates = new Option<int>("--isolates", "-n")
        {
            Description = "Run this many copies in parallel, each in its own isolate; a script reads its index as ScriptEnvironment.Index.",
            DefaultValueFactory = _ => 1,
            HelpName = "N",
        };
        isolates.Validators.Add(result =>
        {
            // Reads the token itself: GetValueOrDefault throws when the value is not a number ("x"), which crashed the
            // tool (exit 134) instead of reporting the conversion error the parser has already recorded.
            if (result.Tokens.Count > 0 && int.TryParse(result.Tokens[^1].Value, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int n)
                && n is < 1 or > 1024)
            {
                result.AddError($"--isolates must be from 1 to 1024 (was {n}).");
            }
        });
        var process = new Option<bool>("--process")
        {
            Description = "Run each copy in a child process of its own (IsolatePlacement.ChildProcess): it can be killed with Ctrl+C, capped with --memory-limit, and a crash (stack overflow, Environment.Exit) ends only it.",
        };
        var memoryLimit = new Option<int>("--memory-limit")
        {
            Description = "With --process: the most GC heap, in MB, each copy may use; past it the copy ends and is reported. 0 = no limit.",
            HelpName = "MB",
        };
        memoryLimit.Validators.Add(result =>
        {
            if (result.Tokens.Count > 0 && int.TryParse(result.Tokens[^1].Value, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int mb)
                && (mb < 0 || (mb > 0 && mb < IsolateOptions.MinimumMemoryLimit / (1024 * 1024))))
            {
                result.AddError($"--memory-limit must be 0 (no limit) or at least {IsolateOptions.MinimumMemoryLimit / (1024 * 1024)} MB (was {mb}).");
            }

            if (result.Tokens.Count > 0 && !result.GetValue(process))
            {
                result.AddError("--memory-limit needs --process: an in-process isolate shares the tool's one GC heap.");
            }
        });
        var runScript = new Argument<FileInfo>("script") { Description = "The script file (.csx) to run." };
        var scriptArgs = new Argument<string[]>("args")
        {
            Description = "Arguments for the script (its `args`); everything after the script path is passed on, options included.",
            Arity = ArgumentArity.ZeroOrMore,
            CaptureRemainingTokens = true,
        };
        var run = new Command("run", "Run a C# script in a fresh isolate and exit with its exit code (return N;). Options go before the script path.")
        {
            isolates,
            process,
            memoryLimit,
            runScript,
            scriptArgs,
        };
        run.SetAction((result, token) => InterruptedOnCancelAsync(RunCommand.ExecuteAsync(
            terminal, result.GetRequiredValue(runScript), result.GetValue(scriptArgs) ?? [], result.GetValue(isolates),
            result.GetValue(process), result.GetValue(memoryLimit) * 1024L * 1024, token), token));

        var checkScript = new Argument<FileInfo>("script") { Description = "The script file (.csx) to compile." };
        var check = new Command("check", "Compile a script without running it and print its diagnostics; exit 0 when it compiles, 1 when not.")
        {
            checkScript,
        };
        check.SetAction((result, token) => InterruptedOnCancelAsync(CheckCommand.ExecuteAsync(terminal, result.GetRequiredValue(checkScript), token), token));

        var ci = new Option<bool>("--ci") { Description = "Smaller sizes, for a quick check that everything runs (minutes become seconds)." };
        var write = new Option<FileInfo?>("--write") { Description = "Also write the table as Markdown to this file.", HelpName = "PATH" };
        var only = new Option<string?>("--only") { Description = "Measure one figure only (cannot be combined with --write).", HelpName = "FIGURE" };
        only.AcceptOnlyFromAmong([.. Isolates.Benchmarks.Quick.QuickOptions.Figures]);
        var noPeers = new Option<bool>("--no-peers") { Description = "Leave out the peers (Proto.Actor, Akka.NET, Node.js, Python)." };
        var bench = new Command("bench", "Run the quick benchmarks (spawn, first call, round trip, map, channels, memory, peers) and print the table. "
            + "Inside a clone of the repository only: builds and runs tools/Isolates.Benchmarks (dotnet run -c Release --project tools/Isolates.Benchmarks -- --quick), which the installed tool does not carry.")
        {
            ci,
            write,
            only,
            noPeers,
        };
        bench.SetAction((result, token) => InterruptedOnCancelAsync(BenchCommand.ExecuteAsync(
            terminal, new BenchCommand.Settings(result.GetValue(ci), result.GetValue(write), result.GetValue(only), result.GetValue(noPeers)), token), token));

        root.Subcommands.Add(run);
        root.Subcommands.Add(check);
        root.Subcommands.Add(bench);
        return root;
    }
}
