using System.Globalization;
using System.Text;

namespace Isolates.Scripting;

/// <summary>
/// Reads a script and everything it pulls in: <c>#load "file.csx"</c> (relative to the file that says it, nested,
/// each file once) and <c>#r "lib.dll"</c> (local assemblies). Directives may only appear before the first line of
/// code, as in .csx files; they are replaced by empty lines, so the compiler sees plain C# with true line numbers.
/// </summary>
internal sealed class ScriptSource
{
    /// <summary>The path used for a script given as a string, in diagnostics and stack traces.</summary>
    public const string InlinePath = "script.csx";

    private static readonly StringComparer PathComparer = OperatingSystem.IsWindows() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal;

    private readonly List<ScriptFile> _files = [];
    private readonly List<string> _references = [];
    private readonly List<string> _errors = [];
    private readonly HashSet<string> _seen = new(PathComparer);

    private ScriptSource()
    {
    }

    /// <summary>Loaded files first (in the order they were loaded), the main file last.</summary>
    public IReadOnlyList<ScriptFile> Files => _files;

    /// <summary>Full paths of the assemblies named by <c>#r</c>, each once.</summary>
    public IReadOnlyList<string> References => _references;

    /// <summary>Problems with directives, formatted like compiler diagnostics.</summary>
    public IReadOnlyList<string> Errors => _errors;

    /// <summary>The main file's path as shown in diagnostics (full path, or <see cref="InlinePath"/>).</summary>
    public string MainPath => _files[^1].Path;

    /// <summary>Reads a script given as text; <paramref name="filePath"/> (optional) anchors relative directives.</summary>
    public static ScriptSource FromText(string text, string? filePath)
    {
        var source = new ScriptSource();
        string path = filePath is null ? InlinePath : Path.GetFullPath(filePath);
        string directory = filePath is null ? Environment.CurrentDirectory : Path.GetDirectoryName(path)!;
        source._seen.Add(path);
        source.Add(path, directory, text);
        return source;
    }

    private void Add(string path, string directory, string text)
    {
        var output = new StringBuilder(text.Length);
        bool inHeader = true;
        int lineNumber = 0;
        foreach ((string line, string ending) in SplitLines(text))
        {
            lineNumber++;
            string trimmed = line.TrimStart();
            int column = line.Length - trimmed.Length + 1;
            bool isLoad = IsDirective(trimmed, "#load");
            bool isReference = IsDirective(trimmed, "#r");
            if (isLoad || isReference)
            {
                if (!inHeader)
                {
                    Error(path, lineNumber, column, "ISO1004", $"{(isLoad ? "#load" : "#r")} must come before the first line of code; move it to the top of the file.");
                }
                else if (ReadQuoted(trimmed, isLoad ? "#load".Length : "#r".Length) is not { } target)
                {
                    Error(path, lineNumber, column, "ISO1003", $"{(isLoad ? "#load" : "#r")} needs a quoted path, e.g. {(isLoad ? "#load \"util.csx\"" : "#r \"lib/MyLib.dll\"")}.");
                }
                else if (isLoad)
                {
                    Load(path, lineNumber, column, directory, target);
                }
                else
                {
                    Reference(path, lineNumber, column, directory, target);
                }

                output.Append(ending); // keep the line, empty, so later line numbers do not move
                continue;
            }

            if (inHeader && !(trimmed.Length == 0 || trimmed.StartsWith("//", StringComparison.Ordinal) || (lineNumber == 1 && trimmed.StartsWith("#!", StringComparison.Ordinal))))
            {
                inHeader = false;
            }

            // A shebang line lets a script be executable on Unix; C# does not accept it, so it is blanked too.
            output.Append(lineNumber == 1 && trimmed.StartsWith("#!", StringComparison.Ordinal) ? string.Empty : line).Append(ending);
        }

        _files.Add(new ScriptFile(path, output.ToString()));
    }

    private void Load(string fromPath, int line, int column, string directory, string target)
    {
        string full = Path.GetFullPath(Path.Combine(directory, target));
        if (!_seen.Add(full))
        {
            return; // each file once, which also makes cycles harmless
        }

        string text;
        try
        {
            text = File.ReadAllText(full);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Error(fromPath, line, column, "ISO1001", $"#load \"{target}\": cannot read '{full}': {ex.Message}");
            return;
        }

        Add(full, Path.GetDirectoryName(full)!, text);
    }

    private void Reference(string fromPath, int line, int column, string directory, string target)
    {
        if (target.StartsWith("nuget:", StringComparison.OrdinalIgnoreCase))
        {
            Error(fromPath, line, column, "ISO1002", $"#r \"{target}\": NuGet references are not supported; reference a local .dll by path.");
            return;
        }

        string full = Path.GetFullPath(Path.Combine(directory, target));
        if (!File.Exists(full))
        {
            Error(fromPath, line, column, "ISO1002", $"#r \"{target}\": assembly not found at '{full}'.");
            return;
        }

        if (!_references.Contains(full, PathComparer))
        {
            _references.Add(full);
        }
    }

    private void Error(string path, int line, int column, string id, string message) =>
        _errors.Add(string.Create(CultureInfo.InvariantCulture, $"{path}({line},{column}): error {id}: {message}"));

    private static bool IsDirective(string trimmed, string name) =>
        trimmed.StartsWith(name, StringComparison.Ordinal) &&
        (trimmed.Length == name.Length || char.IsWhiteSpace(trimmed[name.Length]) || trimmed[name.Length] == '"');

    private static string? ReadQuoted(string trimmed, int start)
    {
        string rest = trimmed[start..].Trim();
        if (rest.Length < 2 || rest[0] != '"')
        {
            return null;
        }

        int end = rest.IndexOf('"', 1);
        if (end <= 1)
        {
            return null;
        }

        string after = rest[(end + 1)..].Trim();
        return after.Length == 0 || after.StartsWith("//", StringComparison.Ordinal) ? rest[1..end] : null;
    }

    private static IEnumerable<(string Line, string Ending)> SplitLines(string text)
    {
        int start = 0;
        while (start < text.Length)
        {
            int end = text.IndexOfAny(['\r', '\n'], start);
            if (end < 0)
            {
                yield return (text[start..], string.Empty);
                yield break;
            }

            int next = end + (text[end] == '\r' && end + 1 < text.Length && text[end + 1] == '\n' ? 2 : 1);
            yield return (text[start..end], text[end..next]);
            start = next;
        }
    }
}
