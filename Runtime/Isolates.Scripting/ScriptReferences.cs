using System.Reflection;
using Basic.Reference.Assemblies;
using Microsoft.CodeAnalysis;

namespace Isolates.Scripting;

/// <summary>
/// What every script compiles against: the .NET 10 reference assemblies (not the running implementation
/// assemblies, which are not meant to be compiled against) plus the Isolates runtime, this library, MessagePack's
/// attributes and the logging abstractions that appear in the runtime's public API. Built once per process.
/// </summary>
internal static class ScriptReferences
{
    private static readonly Lazy<IReadOnlyList<MetadataReference>> Standard = new(Build);

    public static IReadOnlyList<MetadataReference> All => Standard.Value;

    /// <summary>
    /// References for the assemblies that define <paramref name="type"/> (and its generic arguments and elements),
    /// beyond the standard set: how an expression's result type that lives in the caller's own library is named.
    /// </summary>
    public static IEnumerable<MetadataReference> ForType(Type type)
    {
        var assemblies = new HashSet<Assembly>();
        Collect(type, assemblies);
        string frameworkDirectory = Path.GetDirectoryName(typeof(object).Assembly.Location) ?? string.Empty;
        foreach (Assembly assembly in assemblies)
        {
            if (!assembly.IsDynamic && !assembly.IsCollectible && assembly.Location.Length > 0 &&
                !string.Equals(Path.GetDirectoryName(assembly.Location), frameworkDirectory, StringComparison.Ordinal) &&
                !StandardAssemblies.Contains(assembly))
            {
                yield return MetadataReference.CreateFromFile(assembly.Location);
            }
        }

        static void Collect(Type type, HashSet<Assembly> into)
        {
            into.Add(type.Assembly);
            if (type.HasElementType)
            {
                Collect(type.GetElementType()!, into);
            }

            foreach (Type argument in type.GenericTypeArguments)
            {
                Collect(argument, into);
            }
        }
    }

    private static readonly Assembly[] StandardAssemblies =
    [
        typeof(Isolate).Assembly,
        typeof(ScriptCompiler).Assembly,
        typeof(MessagePack.MessagePackSerializer).Assembly,
        typeof(MessagePack.KeyAttribute).Assembly,
        typeof(Microsoft.Extensions.Logging.ILogger).Assembly,
    ];

    private static List<MetadataReference> Build()
    {
        var references = new List<MetadataReference>(Net100.References.All);
        foreach (Assembly assembly in StandardAssemblies)
        {
            if (string.IsNullOrEmpty(assembly.Location))
            {
                throw new InvalidOperationException(
                    $"Scripts compile against '{assembly.GetName().Name}', which was not loaded from a file (single-file publishing?). " +
                    "Run scripts from an application whose assemblies are files on disk.");
            }

            references.Add(MetadataReference.CreateFromFile(assembly.Location));
        }

        return references;
    }
}
