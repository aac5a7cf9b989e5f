using System.Collections.Frozen;
using System.Diagnostics;
using System.Reflection;
using System.Runtime.Loader;

namespace Isolates.Loader;

/// <summary>
/// The isolate's own <see cref="AssemblyLoadContext"/>: it loads a private copy of every assembly the sharing
/// policy does not share, which is what gives the isolate its own static fields, and it carries the caches whose
/// contents reference the isolate's types (they must die with the context, or the context could never unload).
/// </summary>
internal sealed class IsolateLoadContext : AssemblyLoadContext
{
    public IsolateLoadContext(string name, bool collectible, IReadOnlySet<string> extraShared)
        : base(name, collectible)
    {
        ExtraShared = extraShared;
        Cache = new ContextCache();
    }

    /// <summary>Simple names the isolate's options added to the shared set.</summary>
    public IReadOnlySet<string> ExtraShared { get; }

    /// <summary>Codecs and call targets built for this context's types.</summary>
    public ContextCache Cache { get; }

    /// <summary>The isolate that owns this context; set once, right after construction.</summary>
    public Isolate? Owner { get; set; }

    /// <summary>
    /// The id and name of the isolate that owned this context, once it has stopped and let go of it (<see cref="Owner"/>
    /// is null then): its code may still run on the thread pool, and a call it makes must fail naming it.
    /// </summary>
    public (long Id, string Name)? Retired { get; set; }

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        string? simpleName = assemblyName.Name;
        if (simpleName is null || SharingPolicy.IsShared(simpleName, ExtraShared))
        {
            return null; // resolved by the default context: one shared copy
        }

        try
        {
            if (AssemblyLocator.FindInMemory(simpleName) is { } image)
            {
                using var imageStream = new MemoryStream(image.Image, writable: false);
                using MemoryStream? symbolStream = image.Symbols is null ? null : new MemoryStream(image.Symbols, writable: false);
                return LoadFromStream(imageStream, symbolStream);
            }

            string? path = AssemblyLocator.FindPath(simpleName);
            if (path is not null)
            {
                return LoadFromAssemblyPath(path);
            }
        }
        catch (InvalidOperationException) when (IsCollectible)
        {
            // The context is unloading (its isolate closed) but something outside still holds one of its assemblies and
            // reflects over it: Orleans scans every loaded assembly's attributes when a silo starts, which crashed silo
            // start-up in a process that had just closed an isolate. Nothing can be loaded into an unloading context;
            // resolve from the default context instead, as for a shared assembly (no isolate code runs here any more).
            return null;
        }

        Debug.WriteLine($"Isolates: no file found for '{assemblyName}'; falling back to the default context.");
        return null;
    }

    /// <summary>Creates a context for an isolate with the given extra shared assembly names.</summary>
    public static IsolateLoadContext Create(string name, bool collectible, IReadOnlyCollection<string> extraShared) =>
        new(name, collectible, extraShared.Count == 0 ? FrozenSet<string>.Empty : new HashSet<string>(extraShared, StringComparer.OrdinalIgnoreCase));
}
