using Isolates.Scripting;
using Spectre.Console;

namespace Isolates.Cli;

/// <summary><c>isolates check script.csx</c>: compile only, print every diagnostic, exit 0 when it compiles.</summary>
internal static class CheckCommand
{
    public static async Task<int> ExecuteAsync(Terminal terminal, FileInfo script, CancellationToken cancellationToken)
    {
        if (!script.Exists)
        {
            return CliApp.MissingScript(terminal, script, "check");
        }

        try
        {
            CompiledScript compiled = await terminal.WithStatusAsync(
                $"Compiling {script.Name}...",
                () => Task.Run(() => ScriptCompiler.CompileFile(script.FullName, cancellationToken), cancellationToken));
            DiagnosticPrinter.Print(terminal.StyledOutput, compiled.Warnings);
            string files = compiled.SourceFiles.Count == 1 ? "1 file" : $"{compiled.SourceFiles.Count} files";
            string warnings = compiled.Warnings.Count == 1 ? "1 warning" : $"{compiled.Warnings.Count} warnings";
            terminal.OutputLine($"[green]ok[/]: {Markup.Escape(script.Name)} compiles ({files}, {warnings}).");
            return 0;
        }
        catch (IsolateCompilationException ex)
        {
            DiagnosticPrinter.Print(terminal.StyledOutput, ex.Diagnostics);
            int errors = ex.Diagnostics.Count(d => d.Contains(": error ", StringComparison.Ordinal));
            terminal.OutputLine($"[red]failed[/]: {Markup.Escape(script.Name)} has {errors} {(errors == 1 ? "error" : "errors")}.");
            return 1;
        }
    }
}
