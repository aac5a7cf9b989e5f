using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Isolates.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Emit;

namespace Isolates.Scripting;

/// <summary>
/// Compiles C# scripts (top-level statements, <c>#load</c>, <c>#r</c>) with Roslyn, once per distinct script: the
/// result is cached by a hash of every source file, every referenced assembly and the options, so a script started in
/// 100 isolates compiles once and each isolate loads the same bytes.
/// </summary>
/// <remarks>
/// Compilation runs in the calling thread in the default context (Roslyn's first compile in a process takes
/// seconds; later ones are fast). The compiled image is registered with the isolates runtime under a name derived
/// from its hash, so any isolate, including isolates that a script creates itself, can load it: that is what lets a
/// script pass its own functions and types to child isolates.
/// </remarks>
public static class ScriptCompiler
{
    private const string EvalTypeName = "IsolatesEval";
    private const string CacheVersion = "isolates-script-v1";

    private static readonly ConcurrentDictionary<string, Task<CompileOutcome>> Cache = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, CompiledScript> ByAssemblyName = new(StringComparer.Ordinal);
    private static long s_compilations;

    /// <summary>How many compilations actually ran (cache misses); for tests and diagnostics.</summary>
    internal static long CompilationCount => Interlocked.Read(ref s_compilations);

    /// <summary>Compiles a script given as text.</summary>
    /// <param name="source">C# top-level statements; implicit usings include <c>System</c>, <c>System.IO</c>,
    /// <c>System.Linq</c>, <c>System.Collections.Generic</c>, <c>System.Net.Http</c>, <c>System.Threading</c>,
    /// <c>System.Threading.Tasks</c>, <c>System.Threading.Channels</c>, <c>Isolates</c> and <c>Isolates.Scripting</c>.</param>
    /// <param name="filePath">Where the source came from (optional): shown in diagnostics and stack traces, and the
    /// folder that relative <c>#load</c>/<c>#r</c> paths start from (the current directory when null).</param>
    /// <param name="cancellationToken">Stops a compilation in progress.</param>
    /// <returns>The compiled script, from the cache when the same script was compiled before.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> is null.</exception>
    /// <exception cref="IsolateCompilationException">The script has errors; every diagnostic is listed.</exception>
    public static CompiledScript Compile(string source, string? filePath = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        return Compile(ScriptSource.FromText(source, filePath), ScriptKind.Program, null, cancellationToken);
    }

    /// <summary>Reads and compiles a script file.</summary>
    /// <param name="path">The script's path (typically <c>.csx</c>).</param>
    /// <param name="cancellationToken">Stops a compilation in progress.</param>
    /// <returns>The compiled script, from the cache when the same files were compiled before.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    /// <exception cref="IsolateCompilationException">The script has errors; every diagnostic is listed.</exception>
    public static CompiledScript CompileFile(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new FileNotFoundException($"There is no script file at '{full}'.", full);
        }

        return Compile(ScriptSource.FromText(File.ReadAllText(full), full), ScriptKind.Program, null, cancellationToken);
    }

    /// <summary>Compiles one expression into a static method returning <paramref name="resultType"/>.</summary>
    internal static CompiledScript CompileExpression(string expression, Type resultType, CancellationToken cancellationToken)
    {
        string typeName = CSharpTypeName.Of(resultType);
        string text = string.Create(CultureInfo.InvariantCulture, $$"""
            public static class {{EvalTypeName}}
            {
                public static {{typeName}} Run() => (
            #line 1 "{{ScriptSource.InlinePath}}"
            {{expression}}
            #line default
                );
            }
            """);
        return Compile(ScriptSource.FromText(text, null), ScriptKind.Expression, resultType, cancellationToken);
    }

    /// <summary>The compiled script whose assembly has this name, if it was compiled in this process.</summary>
    internal static CompiledScript? FindByAssemblyName(string assemblyName) =>
        ByAssemblyName.TryGetValue(assemblyName, out CompiledScript? script) ? script : null;

    /// <summary>The name of the class that holds a compiled expression's <c>Run</c> method.</summary>
    internal static string EvalType => EvalTypeName;

    private static CompiledScript Compile(ScriptSource source, ScriptKind kind, Type? resultType, CancellationToken cancellationToken)
    {
        string hash = Hash(source, kind, resultType);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var mine = new TaskCompletionSource<CompileOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
            Task<CompileOutcome> entry = Cache.GetOrAdd(hash, mine.Task);
            if (entry == mine.Task)
            {
                // This caller owns the compilation; everyone asking for the same hash meanwhile waits for it.
                try
                {
                    mine.SetResult(Build(source, kind, resultType, hash, cancellationToken));
                }
                catch (Exception ex)
                {
                    // Cancelled (or a bug): forget the entry so the next caller compiles afresh, and release the waiters.
                    Cache.TryRemove(new KeyValuePair<string, Task<CompileOutcome>>(hash, entry));
                    mine.SetCanceled(CancellationToken.None);
                    if (ex is OperationCanceledException)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                    }

                    throw;
                }
            }

            CompileOutcome outcome;
            try
            {
                // A waiter's own token ends its wait; the owner's compilation goes on for the others.
                outcome = entry.WaitAsync(cancellationToken).GetAwaiter().GetResult();
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                continue; // the owner gave up: compile (or wait for a new owner) again
            }

            return outcome.Script ?? throw new IsolateCompilationException(source.MainPath, outcome.Diagnostics);
        }
    }

    /// <summary>Test hook: runs on the owner's thread as each compilation starts, so a test can hold one in progress.</summary>
    internal static Action? BuildStarting { get; set; }

    private static CompileOutcome Build(ScriptSource source, ScriptKind kind, Type? resultType, string hash, CancellationToken cancellationToken)
    {
        BuildStarting?.Invoke();
        Interlocked.Increment(ref s_compilations);
        string assemblyName = "IsolatesScript_" + hash[..20];
        var parseOptions = new CSharpParseOptions(LanguageVersion.Latest, DocumentationMode.None, SourceCodeKind.Regular);
        var trees = new List<SyntaxTree>(source.Files.Count + 1)
        {
            CSharpSyntaxTree.ParseText(GlobalUsings, parseOptions, "IsolatesScriptUsings.g.cs", Encoding.UTF8, cancellationToken),
        };
        foreach (ScriptFile file in source.Files)
        {
            trees.Add(CSharpSyntaxTree.ParseText(file.Text, parseOptions, file.Path, Encoding.UTF8, cancellationToken));
        }

        var references = new List<MetadataReference>(ScriptReferences.All);
        foreach (string reference in source.References)
        {
            references.Add(MetadataReference.CreateFromFile(reference));
        }

        if (resultType is not null)
        {
            references.AddRange(ScriptReferences.ForType(resultType));
        }

        var options = new CSharpCompilationOptions(
            kind == ScriptKind.Program ? OutputKind.ConsoleApplication : OutputKind.DynamicallyLinkedLibrary,
            optimizationLevel: OptimizationLevel.Release,
            nullableContextOptions: NullableContextOptions.Enable,
            deterministic: true,
            concurrentBuild: false,
            specificDiagnosticOptions: [new KeyValuePair<string, ReportDiagnostic>("CS1701", ReportDiagnostic.Suppress), new KeyValuePair<string, ReportDiagnostic>("CS1702", ReportDiagnostic.Suppress)]);
        CSharpCompilation compilation = CSharpCompilation.Create(assemblyName, trees, references, options);

        using var image = new MemoryStream();
        using var symbols = new MemoryStream();
        EmitResult result = compilation.Emit(
            image,
            symbols,
            options: new EmitOptions(debugInformationFormat: DebugInformationFormat.PortablePdb),
            cancellationToken: cancellationToken);

        var diagnostics = new List<string>(source.Errors);
        diagnostics.AddRange(result.Diagnostics
            .Where(d => d.Severity == DiagnosticSeverity.Error)
            .Concat(result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Warning))
            .Select(Format));
        if (!result.Success || source.Errors.Count > 0)
        {
            return new CompileOutcome(null, diagnostics);
        }

        byte[] imageBytes = image.ToArray();
        AssemblyLocator.Register(assemblyName, imageBytes, symbols.ToArray());
        foreach (string reference in source.References)
        {
            RegisterReference(reference);
        }

        var script = new CompiledScript(
            assemblyName,
            hash,
            kind,
            source.Files[^1].Path == ScriptSource.InlinePath ? null : source.MainPath,
            [.. source.Files.Select(f => f.Path)],
            source.References,
            diagnostics,
            imageBytes.Length);
        ByAssemblyName[assemblyName] = script;
        return new CompileOutcome(script, diagnostics);
    }

    /// <summary>
    /// Makes a <c>#r</c> assembly loadable in isolates (each loads its own copy, as with any user assembly), and its
    /// folder a place where isolates look for its dependencies.
    /// </summary>
    private static void RegisterReference(string path)
    {
        AssemblyLocator.AddProbingDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        string? name = AssemblyName.GetAssemblyName(path).Name;
        if (name is null)
        {
            return;
        }

        string pdb = Path.ChangeExtension(path, ".pdb");
        AssemblyLocator.Register(name, File.ReadAllBytes(path), File.Exists(pdb) ? File.ReadAllBytes(pdb) : null);
    }

    private static string Format(Diagnostic diagnostic)
    {
        FileLinePositionSpan span = diagnostic.Location.GetMappedLineSpan();
        string severity = diagnostic.Severity == DiagnosticSeverity.Error ? "error" : "warning";
        string message = diagnostic.GetMessage(CultureInfo.InvariantCulture);
        return span.IsValid && !string.IsNullOrEmpty(span.Path)
            ? string.Create(CultureInfo.InvariantCulture, $"{span.Path}({span.StartLinePosition.Line + 1},{span.StartLinePosition.Character + 1}): {severity} {diagnostic.Id}: {message}")
            : $"{severity} {diagnostic.Id}: {message}";
    }

    private static string Hash(ScriptSource source, ScriptKind kind, Type? resultType)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string text)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(text));
            hash.AppendData([0]);
        }

        Add(CacheVersion);
        Add(kind.ToString());
        Add(resultType?.AssemblyQualifiedName ?? string.Empty);
        foreach (ScriptFile file in source.Files)
        {
            Add(file.Path);
            Add(file.Text);
        }

        foreach (string reference in source.References)
        {
            Add(reference);
            Add(Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(reference))));
        }

        foreach (string error in source.Errors)
        {
            Add(error);
        }

        return Convert.ToHexString(hash.GetHashAndReset());
    }

    private const string GlobalUsings = """
        global using global::System;
        global using global::System.Collections.Generic;
        global using global::System.IO;
        global using global::System.Linq;
        global using global::System.Net.Http;
        global using global::System.Threading;
        global using global::System.Threading.Channels;
        global using global::System.Threading.Tasks;
        global using global::Isolates;
        global using global::Isolates.Scripting;
        """;

    private sealed record CompileOutcome(CompiledScript? Script, IReadOnlyList<string> Diagnostics);
}
