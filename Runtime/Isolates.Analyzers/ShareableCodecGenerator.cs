using System;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Isolates.Analyzers;

/// <summary>
/// Writes a wire codec into the user's assembly for every <c>[Shareable]</c> type it can reach from generated code,
/// and registers it with an assembly attribute the runtime reads from each isolate's own copy of the assembly. The
/// codec writes exactly the bytes the runtime's reflection codec writes (members by position, in metadata order),
/// but reads members and calls the constructor directly, so no reflection or run-time compiled code is involved.
/// Types it does not cover (generic ones, or ones generated code cannot name) are reported as ISO004 (info) and keep
/// using the reflection codec.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class ShareableCodecGenerator : IIncrementalGenerator
{
    /// <inheritdoc />
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        IncrementalValueProvider<bool> supported = context.CompilationProvider.Select(static (compilation, _) =>
            compilation.GetTypeByMetadataName(CodecPlan.CodecBaseName) is not null
            && compilation.GetTypeByMetadataName("MessagePack.MessagePackWriter") is not null);

        IncrementalValuesProvider<GeneratedCodec> codecs = context.SyntaxProvider.ForAttributeWithMetadataName(
            ShareableTypes.ShareableAttribute,
            static (node, _) => node is TypeDeclarationSyntax,
            static (attributed, cancellationToken) => CodecPlan.Create((INamedTypeSymbol)attributed.TargetSymbol, cancellationToken));

        context.RegisterSourceOutput(codecs.Combine(supported), static (output, pair) =>
        {
            (GeneratedCodec codec, bool isSupported) = pair;
            if (!isSupported)
            {
                return; // an older runtime without generated-codec support: the reflection codec does the work
            }

            if (codec.SkipReason is { } reason)
            {
                output.ReportDiagnostic(Diagnostic.Create(Descriptors.NoGeneratedCodec, codec.Location, codec.TypeName, reason));
            }
            else if (codec.Source is { } source)
            {
                output.AddSource(codec.HintName, source);
            }
        });
    }
}

/// <summary>The generator's result for one type: a source file, a reason it was skipped, or nothing (invalid types).</summary>
internal sealed class GeneratedCodec : IEquatable<GeneratedCodec>
{
    public GeneratedCodec(string typeName, string hintName, string? source, string? skipReason, Location? location)
    {
        TypeName = typeName;
        HintName = hintName;
        Source = source;
        SkipReason = skipReason;
        Location = location;
    }

    public string TypeName { get; }

    public string HintName { get; }

    public string? Source { get; }

    public string? SkipReason { get; }

    public Location? Location { get; }

    public bool Equals(GeneratedCodec? other) =>
        other is not null && TypeName == other.TypeName && HintName == other.HintName && Source == other.Source && SkipReason == other.SkipReason;

    public override bool Equals(object? obj) => Equals(obj as GeneratedCodec);

    public override int GetHashCode() => (TypeName.GetHashCode() * 31) + (Source?.GetHashCode() ?? 0);
}
