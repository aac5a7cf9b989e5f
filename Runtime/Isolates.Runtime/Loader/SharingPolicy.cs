using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Reflection;
using System.Runtime.Loader;

namespace Isolates.Loader;

/// <summary>
/// Decides which assemblies an isolate shares with the default context and which it loads a private copy of.
/// Shared: the framework (anything the runtime loads from a shared-framework folder), the Isolates runtime
/// itself, MessagePack, logging abstractions (they are part of the runtime's public surface), and whatever the
/// isolate's options add. Everything else is loaded again into each isolate, which is what gives it its own statics.
/// </summary>
internal static class SharingPolicy
{
    private static readonly FrozenSet<string> RuntimeShared = FrozenSet.Create(
        StringComparer.OrdinalIgnoreCase,
        "Isolates.Runtime",
        "Isolates.Scripting",
        "Isolates.Hosting",
        "MessagePack",
        "MessagePack.Annotations",
        "Microsoft.Extensions.Logging.Abstractions",
        "Microsoft.Extensions.DependencyInjection.Abstractions",
        "Microsoft.NET.StringTools");

    private static readonly string[] FrameworkDirectories = FindFrameworkDirectories();

    // Only default-context (never collectible) assemblies are cached here, so the cache keeps nothing alive.
    private static readonly ConcurrentDictionary<Assembly, bool> AssemblyDecisions = new();

    // The base decision (without an isolate's extra names) never changes for a name: cache it.
    private static readonly ConcurrentDictionary<string, bool> BaseDecisions = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Whether the named assembly must be shared, given the isolate's extra shared names.</summary>
    public static bool IsShared(string simpleName, IReadOnlySet<string> extraShared) =>
        (extraShared.Count > 0 && extraShared.Contains(simpleName)) ||
        BaseDecisions.GetOrAdd(simpleName, static name =>
        {
            if (RuntimeShared.Contains(name))
            {
                return true;
            }

            string? path = AssemblyLocator.FindPath(name);
            return path is not null ? IsFrameworkPath(path) : IsLoadedFrameworkAssembly(name);
        });

    /// <summary>Whether an already loaded assembly is shared: it lives in the default context and the policy says so.</summary>
    public static bool IsShared(Assembly assembly, IReadOnlySet<string> extraShared)
    {
        if (AssemblyLoadContext.GetLoadContext(assembly) != AssemblyLoadContext.Default)
        {
            return false;
        }

        return AssemblyDecisions.GetOrAdd(assembly, static a =>
                   a.GetName().Name is not { } name || RuntimeShared.Contains(name) || IsFrameworkPath(a.Location)) ||
               (extraShared.Count > 0 && assembly.GetName().Name is { } simpleName && extraShared.Contains(simpleName));
    }

    /// <summary>Whether types from this assembly are the same objects in every context (shared and not collectible).</summary>
    public static bool IsSharedEverywhere(Assembly assembly) =>
        !assembly.IsCollectible && IsShared(assembly, FrozenSet<string>.Empty);

    private static bool IsFrameworkPath(string path)
    {
        if (string.IsNullOrEmpty(path))
        {
            return false;
        }

        foreach (string dir in FrameworkDirectories)
        {
            if (path.StartsWith(dir, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsLoadedFrameworkAssembly(string simpleName)
    {
        foreach (Assembly loaded in AssemblyLoadContext.Default.Assemblies)
        {
            if (string.Equals(loaded.GetName().Name, simpleName, StringComparison.OrdinalIgnoreCase))
            {
                return IsFrameworkPath(loaded.Location);
            }
        }

        return false;
    }

    private static string[] FindFrameworkDirectories()
    {
        // The core library lives in .../shared/Microsoft.NETCore.App/<version>/; every shared framework
        // (ASP.NET Core, Windows Desktop) is a sibling of that folder's parent.
        string coreDir = Path.GetDirectoryName(typeof(object).Assembly.Location) ?? string.Empty;
        var dirs = new List<string> { WithSeparator(coreDir) };
        string? sharedRoot = Path.GetDirectoryName(Path.GetDirectoryName(coreDir));
        if (sharedRoot is not null && Directory.Exists(sharedRoot))
        {
            dirs.Add(WithSeparator(sharedRoot));
        }

        return [.. dirs];

        static string WithSeparator(string dir) =>
            dir.EndsWith(Path.DirectorySeparatorChar) ? dir : dir + Path.DirectorySeparatorChar;
    }
}
