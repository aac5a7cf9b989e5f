using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using Isolates.Loader;

namespace Isolates;

/// <summary>
/// Builds the value of <see cref="IsolateOptions.SharedAssemblies"/> for sharing a library together with the
/// libraries it uses. Sharing a library alone is rarely what is wanted: its dependencies would still load privately in
/// each isolate, and a shared type that uses a private one then sees a different copy per isolate (the library's own
/// types no longer match, or the private copy is kept alive by the shared one).
/// </summary>
/// <example>
/// <code>
/// var options = new IsolateOptions { SharedAssemblies = SharedAssemblySet.WithDependencies("Microsoft.EntityFrameworkCore.Sqlite") };
/// </code>
/// </example>
/// <remarks>
/// A shared assembly has one set of statics for the whole process: every isolate then sees the library's global
/// settings (see docs/sharing-policy.md for the popular libraries that keep some). The references are read from the
/// assemblies' metadata without loading them; framework assemblies, and those the runtime always shares, are left out
/// because they are shared already. A reference no file of the application provides is left out too: it cannot load
/// anywhere, so sharing it changes nothing.
/// </remarks>
public static class SharedAssemblySet
{
    /// <summary>
    /// The named assemblies and every assembly they reference, directly or not, except the framework and what the
    /// runtime always shares; in the order found, the named ones first.
    /// </summary>
    /// <param name="assemblyNames">
    /// Simple assembly names (the .dll's file name without its extension, not the package id: BCrypt.Net-Next ships
    /// <c>BCrypt-Net-Next</c>).
    /// </param>
    /// <returns>The names to put in <see cref="IsolateOptions.SharedAssemblies"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="assemblyNames"/> is null.</exception>
    /// <exception cref="ArgumentException">
    /// No name was given, a name is blank, or the application can load no assembly of that name (the message suggests
    /// close names), or an assembly's file is not a readable .NET assembly.
    /// </exception>
    public static IReadOnlyList<string> WithDependencies(params string[] assemblyNames)
    {
        ArgumentNullException.ThrowIfNull(assemblyNames);
        if (assemblyNames.Length == 0)
        {
            throw new ArgumentException("SharedAssemblySet.WithDependencies needs at least one assembly name (e.g. \"Newtonsoft.Json\").", nameof(assemblyNames));
        }

        var found = new List<string>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var pending = new Queue<string>();
        foreach (string name in assemblyNames)
        {
            if (string.IsNullOrWhiteSpace(name))
            {
                throw new ArgumentException("SharedAssemblySet.WithDependencies takes simple assembly names, not null or blank entries.", nameof(assemblyNames));
            }

            if (AssemblyLocator.FindPath(name) is null && AssemblyLocator.FindInMemory(name) is null)
            {
                string[] near = AssemblyLocator.NearNames(name);
                throw new ArgumentException(
                    $"SharedAssemblySet.WithDependencies names '{name}', but this application can load no assembly of that name. " +
                    "It takes assembly names (the file name of the .dll without its extension), not package ids." +
                    (near.Length > 0 ? $" Did you mean {string.Join(" or ", near.Select(n => $"'{n}'"))}?" : string.Empty),
                    nameof(assemblyNames));
            }

            if (seen.Add(name))
            {
                found.Add(name);
                pending.Enqueue(name);
            }
        }

        while (pending.TryDequeue(out string? current))
        {
            foreach (string reference in ReferencesOf(current))
            {
                // Framework and runtime assemblies are shared whatever the options say; a name no file provides cannot load.
                if (!seen.Add(reference) || SharingPolicy.IsShared(reference, System.Collections.Frozen.FrozenSet<string>.Empty) ||
                    (AssemblyLocator.FindPath(reference) is null && AssemblyLocator.FindInMemory(reference) is null))
                {
                    continue;
                }

                found.Add(reference);
                pending.Enqueue(reference);
            }
        }

        return found;
    }

    /// <summary>The simple names an assembly's metadata references, read from its file or in-memory image without loading it.</summary>
    private static List<string> ReferencesOf(string simpleName)
    {
        string? path = AssemblyLocator.FindPath(simpleName);
        try
        {
            using PEReader pe = path is not null
                ? new PEReader(File.OpenRead(path))
                : new PEReader(new MemoryStream(AssemblyLocator.FindInMemory(simpleName)!.Image, writable: false));
            if (!pe.HasMetadata)
            {
                return [];
            }

            MetadataReader metadata = pe.GetMetadataReader();
            var names = new List<string>(metadata.AssemblyReferences.Count);
            foreach (AssemblyReferenceHandle handle in metadata.AssemblyReferences)
            {
                names.Add(metadata.GetString(metadata.GetAssemblyReference(handle).Name));
            }

            return names;
        }
        catch (Exception e) when (e is BadImageFormatException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            throw new ArgumentException($"SharedAssemblySet.WithDependencies could not read the references of '{simpleName}' from {path ?? "its in-memory image"}: {e.Message}", nameof(simpleName), e);
        }
    }
}
