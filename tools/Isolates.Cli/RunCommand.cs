using Isolates.Scripting;
using Spectre.Console;

namespace Isolates.Cli;

/// <summary><c>isolates run script.csx [args...]</c>: compile once, run one or more copies, each in a fresh isolate.</summary>
internal static class RunCommand
{
    public static async Task<int> ExecuteAsync(Terminal terminal, FileInfo script, string[] args, int copies, bool inProcesses, long memoryLimit, CancellationToken cancellationToken)
    {
        if (!script.Exists)
        {
            return CliApp.MissingScript(terminal, script, "run");
        }

        CompiledScript compiled;
        try
        {
            compiled = await terminal.WithStatusAsync(
                $"Compiling {script.Name}...",
                () => Task.Run(() => ScriptCompiler.CompileFile(script.FullName, cancellationToken), cancellationToken));
        }
        catch (IsolateCompilationException ex)
        {
            DiagnosticPrinter.Print(terminal.StyledError, ex.Diagnostics);
            return 1;
        }

        DiagnosticPrinter.Print(terminal.StyledError, compiled.Warnings);
        int[] codes = await Task.WhenAll(Enumerable.Range(0, copies)
            .Select(index => RunCopyAsync(terminal, compiled, args, index, copies, inProcesses, memoryLimit, cancellationToken)));
        return ExitCode(codes.FirstOrDefault(code => code != 0));
    }

    /// <summary>
    /// The script's code as the process's: Unix keeps only its low 8 bits, so a non-zero code such as 256 would read
    /// as success; such a code becomes 1. Every other code passes through unchanged.
    /// </summary>
    internal static int ExitCode(int scriptCode) => scriptCode != 0 && (scriptCode & 0xFF) == 0 ? 1 : scriptCode;

    private static async Task<int> RunCopyAsync(Terminal terminal, CompiledScript script, string[] args, int index, int copies, bool inProcesses, long memoryLimit, CancellationToken cancellationToken)
    {
        string name = Path.GetFileNameWithoutExtension(script.FilePath!);
        string prefix = copies == 1 ? string.Empty : $"[[{index}]] ";
        Isolate isolate;
        try
        {
            isolate = await Isolate.CreateAsync(
                new IsolateOptions
                {
                    Name = copies == 1 ? name : $"{name}-{index}",
                    Placement = inProcesses ? IsolatePlacement.ChildProcess : IsolatePlacement.InProcess,
                    MemoryLimit = memoryLimit,
                },
                cancellationToken);
        }
        catch (IsolateClosedException ex)
        {
            terminal.ErrorLine($"{prefix}[red]error[/]: {Markup.Escape(ex.Message)}");
            return 1;
        }

        try
        {
            return await script.RunAsync(isolate, args, new ScriptRunOptions { Index = index, Count = copies }, cancellationToken);
        }
        catch (IsolateExecutionException ex)
        {
            RemoteErrorPrinter.Print(terminal, ex, script.SourceFiles, prefix);
            return 1;
        }
        catch (IsolateClosedException ex) when (ex.InnerException is IsolateExecutionException fault && isolate.Placement == IsolatePlacement.InProcess)
        {
            // The isolate faulted under the script (an exception escaped outside the script's own call, e.g. from an
            // async void method): the fault is what the user needs to see.
            RemoteErrorPrinter.Print(terminal, fault, script.SourceFiles, prefix, $"{prefix}[red]error[/]: the script's isolate faulted.");
            return 1;
        }
        catch (IsolateClosedException ex)
        {
            // A child-process copy that crashed (stack overflow, Environment.Exit, its memory limit) says how it ended.
            terminal.ErrorLine($"{prefix}[red]error[/]: {Markup.Escape(ex.Message)}");
            return 1;
        }
        finally
        {
            await isolate.CloseAsync();
        }
    }
}
