namespace Isolates.Scripting;

/// <summary>
/// A script compiled once, ready to run in any number of isolates: each isolate loads the same bytes into its own
/// context (so the script's statics are per isolate) and runs it on its own thread. Get one from
/// <see cref="ScriptCompiler"/>; compiling the same script again returns the same instance.
/// </summary>
public sealed class CompiledScript
{
    internal CompiledScript(
        string assemblyName,
        string hash,
        ScriptKind kind,
        string? filePath,
        IReadOnlyList<string> sourceFiles,
        IReadOnlyList<string> references,
        IReadOnlyList<string> warnings,
        int imageSize)
    {
        AssemblyName = assemblyName;
        Hash = hash;
        Kind = kind;
        FilePath = filePath;
        SourceFiles = sourceFiles;
        References = references;
        Warnings = warnings;
        ImageSize = imageSize;
    }

    /// <summary>The compiled assembly's name, derived from <see cref="Hash"/>, unique per distinct script; it
    /// appears in stack traces and is how isolates find the image.</summary>
    public string AssemblyName { get; }

    /// <summary>The cache key: a SHA-256 over every source file, every referenced assembly and the options.</summary>
    public string Hash { get; }

    /// <summary>The main file's full path; null for a script compiled from text without one.</summary>
    public string? FilePath { get; }

    /// <summary>Every source file compiled: the files pulled in by <c>#load</c> first, the main file last.</summary>
    public IReadOnlyList<string> SourceFiles { get; }

    /// <summary>Full paths of the assemblies named by <c>#r</c>.</summary>
    public IReadOnlyList<string> References { get; }

    /// <summary>The compiler's warnings, formatted like <see cref="IsolateCompilationException.Diagnostics"/>.</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>The size in bytes of the compiled image.</summary>
    public int ImageSize { get; }

    internal ScriptKind Kind { get; }

    /// <summary>Runs the script's top-level statements in <paramref name="isolate"/>, on its thread.</summary>
    /// <param name="isolate">The isolate to run in; it stays open afterwards.</param>
    /// <param name="args">The script's <c>args</c> (empty when null).</param>
    /// <param name="options">Which parallel copy this is (<see cref="ScriptEnvironment.Index"/>); null for a single copy.</param>
    /// <param name="cancellationToken">Stops waiting: the task completes as cancelled at once. The script keeps
    /// running until it returns; it should watch <see cref="Isolate.ClosingToken"/>, which closing the isolate cancels.</param>
    /// <returns>The exit code: the value of <c>return N;</c>, or 0.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="isolate"/> is null.</exception>
    /// <exception cref="InvalidOperationException">This is a compiled expression, not a program.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The script threw; the remote stack trace has the script's file and line numbers.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the script finished.</exception>
    public Task<int> RunAsync(Isolate isolate, IReadOnlyList<string>? args = null, ScriptRunOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(isolate);
        if (Kind != ScriptKind.Program)
        {
            throw new InvalidOperationException("A compiled expression has no top-level statements to run; use EvalAsync.");
        }

        options ??= Defaults;
        options.Validate();
        return isolate.CallAsync(ScriptEntry.RunAsync, AssemblyName, args is null ? [] : args.ToArray(), options.Index, options.Count, cancellationToken);
    }

    /// <inheritdoc />
    public override string ToString() => $"{AssemblyName} ({FilePath ?? ScriptSource.InlinePath})";

    private static readonly ScriptRunOptions Defaults = new();
}
