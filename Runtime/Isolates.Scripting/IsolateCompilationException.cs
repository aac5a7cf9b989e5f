using System.Text;

namespace Isolates;

/// <summary>
/// A script did not compile. <see cref="Diagnostics"/> lists every error and warning in the compiler's own format,
/// <c>file(line,col): error CSxxxx: message</c>, so editors and CI logs can jump to the line; nothing ran and no
/// isolate was created for it.
/// </summary>
public sealed class IsolateCompilationException : IsolateException
{
    /// <summary>Creates the exception for a script whose compilation reported <paramref name="diagnostics"/>.</summary>
    /// <param name="scriptPath">The script's main file (or the name used for a script given as text).</param>
    /// <param name="diagnostics">Every diagnostic, formatted <c>file(line,col): severity id: message</c>.</param>
    public IsolateCompilationException(string scriptPath, IReadOnlyList<string> diagnostics)
        : base(BuildMessage(scriptPath, diagnostics))
    {
        ScriptPath = scriptPath;
        Diagnostics = diagnostics;
    }

    /// <summary>The script's main file, or the name used for a script given as text.</summary>
    public string ScriptPath { get; }

    /// <summary>Every error and warning, errors first, each <c>file(line,col): error CSxxxx: message</c>.</summary>
    public IReadOnlyList<string> Diagnostics { get; }

    private static string BuildMessage(string scriptPath, IReadOnlyList<string> diagnostics)
    {
        ArgumentNullException.ThrowIfNull(scriptPath);
        ArgumentNullException.ThrowIfNull(diagnostics);
        int errors = diagnostics.Count(d => d.Contains(": error ", StringComparison.Ordinal));
        var text = new StringBuilder()
            .Append("The script '").Append(scriptPath).Append("' did not compile (")
            .Append(errors).Append(errors == 1 ? " error" : " errors").Append("):");
        foreach (string diagnostic in diagnostics)
        {
            text.AppendLine().Append(diagnostic);
        }

        return text.ToString();
    }
}
