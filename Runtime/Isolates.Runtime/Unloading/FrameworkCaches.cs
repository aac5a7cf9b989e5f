using System.Reflection;
using System.Runtime.Loader;

namespace Isolates.Unloading;

/// <summary>
/// Clears the caches that shared (default-context) assemblies keep of types, which hold an unloaded isolate's types and
/// so its whole context. The framework already has a hook for exactly this: hot reload. Assemblies that cache
/// reflection metadata declare <c>[assembly: MetadataUpdateHandler(typeof(X))]</c>, and <c>X.ClearCache(Type[]?)</c>
/// empties the cache (System.Text.Json's metadata of default and user options, TypeDescriptor, the
/// reflection caches of CoreLib and others). Measured: System.Text.Json in reflection mode left every isolate that
/// used it Leaked; cleared, each one unloads.
/// </summary>
/// <remarks>
/// Clearing is process-wide: the host's own caches are emptied too and rebuilt on their next use. So it runs only
/// when a context is still alive after the first collections of an unload check (a healthy unload needs two or three),
/// never on the common path. Handlers of assemblies loaded later are found on the next run.
/// </remarks>
internal static class FrameworkCaches
{
    private static readonly Lock Sync = new();
    private static readonly HashSet<Assembly> Scanned = [];
    private static readonly List<Action<Type[]?>> Clearers = [];

    /// <summary>How many times the caches were cleared (for tests and diagnostics).</summary>
    public static int Clears { get; private set; }

    /// <summary>Calls every cache-clearing handler of the default context's assemblies; a handler that throws is skipped.</summary>
    public static void Clear()
    {
        Action<Type[]?>[] clearers;
        lock (Sync)
        {
            foreach (Assembly assembly in AssemblyLoadContext.Default.Assemblies)
            {
                if (Scanned.Add(assembly))
                {
                    Find(assembly, Clearers);
                }
            }

            clearers = [.. Clearers];
            Clears++;
        }

        foreach (Action<Type[]?> clear in clearers)
        {
            try
            {
                clear(null); // null: "everything may have changed"
            }
            catch (Exception)
            {
                // A handler that fails leaves its cache as it was; the unload check reports what stays alive.
            }
        }
    }

    private static void Find(Assembly assembly, List<Action<Type[]?>> found)
    {
        IList<CustomAttributeData> attributes;
        try
        {
            attributes = assembly.GetCustomAttributesData();
        }
        catch (Exception)
        {
            return; // a dynamic or broken assembly
        }

        foreach (CustomAttributeData attribute in attributes)
        {
            if (attribute.AttributeType.FullName != "System.Reflection.Metadata.MetadataUpdateHandlerAttribute"
                || attribute.ConstructorArguments is not [{ Value: Type handler }])
            {
                continue;
            }

            MethodInfo? clearCache = handler.GetMethod("ClearCache", BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic, [typeof(Type[])]);
            if (clearCache is not null && clearCache.ReturnType == typeof(void))
            {
                found.Add(clearCache.CreateDelegate<Action<Type[]?>>());
            }
        }
    }
}
