using Isolates.Scripting;

namespace Isolates;

/// <summary>
/// Runs C# source inside an isolate: <c>await iso.ExecAsync("Console.WriteLine(1);")</c> and
/// <c>await iso.EvalAsync&lt;int&gt;("Enumerable.Range(1, 10).Sum()")</c>. Source is compiled once per distinct text
/// (see <see cref="ScriptCompiler"/>) on a thread-pool thread, then loaded into the isolate and run on its thread.
/// </summary>
public static class IsolateScriptExtensions
{
    /// <summary>Compiles <paramref name="source"/> (C# top-level statements) and runs it in <paramref name="isolate"/>.</summary>
    /// <param name="isolate">The isolate to run in; it stays open, and the script's statics stay in it.</param>
    /// <param name="source">C# top-level statements; may declare functions, types and [Shareable] records.</param>
    /// <param name="cancellationToken">Cancels compiling, or stops waiting for the script (which keeps running
    /// until it returns).</param>
    /// <returns>A task that completes when the script has finished.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="isolate"/> or <paramref name="source"/> is null.</exception>
    /// <exception cref="IsolateCompilationException">(in the task) The source has errors; every diagnostic is listed.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The script threw inside the isolate.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the script finished.</exception>
    public static async Task ExecAsync(this Isolate isolate, string source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(isolate);
        ArgumentNullException.ThrowIfNull(source);
        CompiledScript script = await Task.Run(() => ScriptCompiler.Compile(source, null, cancellationToken), cancellationToken).ConfigureAwait(false);
        await script.RunAsync(isolate, null, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Compiles the C# <paramref name="expression"/> and evaluates it in <paramref name="isolate"/>.</summary>
    /// <typeparam name="T">The expression's type (it is converted to it as by an assignment); must be shareable.</typeparam>
    /// <param name="isolate">The isolate to evaluate in; the expression sees its statics.</param>
    /// <param name="expression">One C# expression, e.g. <c>Enumerable.Range(1, 10).Sum()</c>.</param>
    /// <param name="cancellationToken">Cancels compiling, or stops waiting for the result.</param>
    /// <returns>The expression's value, copied out of the isolate.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="isolate"/> or <paramref name="expression"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="expression"/> is empty or white space.</exception>
    /// <exception cref="IsolateCompilationException">(in the task) The expression has errors.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) Evaluating it threw inside the isolate.</exception>
    public static async Task<T> EvalAsync<T>(this Isolate isolate, string expression, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(isolate);
        ArgumentException.ThrowIfNullOrWhiteSpace(expression);
        CompiledScript script = await Task.Run(() => ScriptCompiler.CompileExpression(expression, typeof(T), cancellationToken), cancellationToken).ConfigureAwait(false);
        return await isolate.CallAsync(ScriptEntry.Eval<T>, script.AssemblyName, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs a compiled script in <paramref name="isolate"/>; the same as <see cref="CompiledScript.RunAsync"/>.</summary>
    /// <param name="isolate">The isolate to run in; it stays open.</param>
    /// <param name="script">A script from <see cref="ScriptCompiler"/>.</param>
    /// <param name="args">The script's <c>args</c> (empty when null).</param>
    /// <param name="cancellationToken">Stops waiting for the script.</param>
    /// <returns>The script's exit code.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="isolate"/> or <paramref name="script"/> is null.</exception>
    public static Task<int> RunScriptAsync(this Isolate isolate, CompiledScript script, IReadOnlyList<string>? args = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(script);
        return script.RunAsync(isolate, args, null, cancellationToken);
    }
}
