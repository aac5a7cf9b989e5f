using System.Collections.Immutable;
using MessagePack;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Isolates.Tests.Analyzers;

/// <summary>
/// The compilation the analyzer and generator tests put their C# snippets in: a library against the .NET 10 reference
/// assemblies, Isolates.Runtime and MessagePack, nullable enabled, as a user's project would be.
/// </summary>
internal static class Snippets
{
    private static readonly ImmutableArray<MetadataReference> StandardReferences =
    [
        .. Basic.Reference.Assemblies.Net100.References.All,
        MetadataReference.CreateFromFile(typeof(ShareableAttribute).Assembly.Location),
        MetadataReference.CreateFromFile(typeof(MessagePackObjectAttribute).Assembly.Location),
        MetadataReference.CreateFromFile(typeof(MessagePackWriter).Assembly.Location),
    ];

    public static CSharpCompilation Compile(params SyntaxTree[] trees) =>
        CSharpCompilation.Create(
            "Snippet",
            trees,
            StandardReferences,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable)
                .WithSpecificDiagnosticOptions([new("CS1701", ReportDiagnostic.Suppress), new("CS1702", ReportDiagnostic.Suppress)])); // as the SDK does

    /// <summary>
    /// Compiles <paramref name="source"/>, runs <paramref name="generator"/> on it, and gives the generated files and
    /// everything the compiler then reports on the output, warnings included (hidden ones are not shown to users).
    /// </summary>
    public static (string[] Generated, string[] Diagnostics) Generate(IIncrementalGenerator generator, string source)
    {
        var parseOptions = new CSharpParseOptions(LanguageVersion.Preview);
        CSharpCompilation compilation = Compile(CSharpSyntaxTree.ParseText(source, parseOptions));
        GeneratorDriver driver = CSharpGeneratorDriver.Create([generator.AsSourceGenerator()], parseOptions: parseOptions);
        driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out Compilation output, out ImmutableArray<Diagnostic> generatorDiagnostics);
        string[] diagnostics = [.. generatorDiagnostics.Concat(output.GetDiagnostics())
            .Where(d => d.Severity > DiagnosticSeverity.Hidden)
            .Select(d => $"{d.Id}: {d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}")];
        string[] generated = [.. driver.GetRunResult().GeneratedTrees.Select(t => t.ToString())];
        return (generated, diagnostics);
    }
}
