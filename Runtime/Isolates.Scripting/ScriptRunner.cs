namespace Isolates.Scripting;

/// <summary>
/// Runs a script file the way <c>isolates run</c> does: compile (cached), create a fresh isolate, run the script in
/// it, close the isolate, and return the exit code.
/// </summary>
public static class ScriptRunner
{
    /// <summary>Compiles <paramref name="path"/> and runs it in a new isolate that is closed afterwards.</summary>
    /// <param name="path">The script file.</param>
    /// <param name="args">The script's <c>args</c> (empty when null).</param>
    /// <param name="options">The parallel index and the isolate's options; null for a single copy with defaults.</param>
    /// <param name="cancellationToken">Cancels compiling, or closes the isolate (which cancels its
    /// <see cref="Isolate.ClosingToken"/>) and completes the task as cancelled.</param>
    /// <returns>The script's exit code: the value of <c>return N;</c>, or 0.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    /// <exception cref="IsolateCompilationException">The script has errors; no isolate was created.</exception>
    /// <exception cref="IsolateExecutionException">The script threw; the isolate has been closed.</exception>
    public static async Task<int> RunFileAsync(string path, IReadOnlyList<string>? args = null, ScriptRunOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new ScriptRunOptions();
        options.Validate();
        CompiledScript script = await Task.Run(() => ScriptCompiler.CompileFile(path, cancellationToken), cancellationToken).ConfigureAwait(false);
        IsolateOptions isolateOptions = options.IsolateOptions ?? new IsolateOptions
        {
            Name = options.Count == 1 ? Path.GetFileNameWithoutExtension(path) : $"{Path.GetFileNameWithoutExtension(path)}-{options.Index}",
        };
        Isolate isolate = await Isolate.CreateAsync(isolateOptions, cancellationToken).ConfigureAwait(false);
        try
        {
            return await script.RunAsync(isolate, args, options, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await isolate.CloseAsync().ConfigureAwait(false);
        }
    }
}
