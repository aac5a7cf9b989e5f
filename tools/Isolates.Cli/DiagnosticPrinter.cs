using Spectre.Console;

namespace Isolates.Cli;

/// <summary>Prints compiler diagnostics one per line, <c>file(line,col): error CSxxxx: message</c>, with the severity coloured.</summary>
internal static class DiagnosticPrinter
{
    public static void Print(IAnsiConsole target, IReadOnlyList<string> diagnostics)
    {
        foreach (string diagnostic in diagnostics)
        {
            string styled = Markup.Escape(diagnostic)
                .Replace(": error ", ": [red]error[/] ", StringComparison.Ordinal)
                .Replace(": warning ", ": [yellow]warning[/] ", StringComparison.Ordinal);
            target.MarkupLine(styled);
        }
    }
}
