using System.Collections;
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
/// <para>
/// Some framework caches keep types past that hook; each one found to pin an isolate is pruned here of the types of
/// contexts already unloaded, by a guarded reflection step that does nothing when the framework's private shape is not
/// the one described (see <see cref="ForgetUnloadedTypes"/>).
/// </para>
/// Clearing is process-wide: the host's own caches are emptied too and rebuilt on their next use. So it runs only
/// when a context is still alive after the first collections of an unload check (a healthy unload needs two or three),
/// never on the common path. Handlers of assemblies loaded later are found on the next run.
/// </remarks>
internal static class FrameworkCaches
{
    private static readonly Lock Sync = new();
    private static readonly HashSet<Assembly> Scanned = [];
    private static readonly List<Action<Type[]?>> Clearers = [];

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

        ForgetUnloadedTypes();
    }

    /// <summary>
    /// Takes the types of unloaded contexts out of <see cref="System.ComponentModel.TypeDescriptor"/>'s tables, which
    /// neither its hot-reload handler nor <c>TypeDescriptor.Refresh</c> empties: <c>s_defaultProviderInitialized</c> and
    /// <c>s_providerTypeTable</c> (type to marker or provider node), and the reflection provider's per-type data
    /// (<c>ReflectTypeDescriptionProvider._typeData</c>, reached through the nodes of <c>s_providerTable</c>).
    /// Measured: Newtonsoft.Json (which asks TypeDescriptor for every type's converter) and Polly left every isolate
    /// Leaked through them.
    /// </summary>
    /// <remarks>
    /// Only types whose context has been unloaded are removed (a context leaves <see cref="AssemblyLoadContext.All"/>
    /// when it unloads); nothing can ask about those types again, so nothing is lost. Each removal takes the lock the
    /// framework takes to write that table (<c>s_providerTable</c> itself) or is a concurrent dictionary (the provider data in .NET 10),
    /// or uses a concurrent dictionary, and the tables' readers already treat a missing entry as "not computed yet".
    /// A framework whose private fields differ makes this a no-op, and the unload check reports the leak as before.
    /// </remarks>
    private static void ForgetUnloadedTypes()
    {
        try
        {
            var live = new HashSet<AssemblyLoadContext>(AssemblyLoadContext.All);
            bool Unloaded(object? key) =>
                key is Type { Assembly.IsCollectible: true } type &&
                AssemblyLoadContext.GetLoadContext(type.Assembly) is { } context && !live.Contains(context);

            Assembly? componentModel = AssemblyLoadContext.Default.Assemblies.FirstOrDefault(a => a.GetName().Name == "System.ComponentModel.TypeConverter");
            Type? descriptor = componentModel?.GetType("System.ComponentModel.TypeDescriptor");
            Type? reflectProvider = componentModel?.GetType("System.ComponentModel.ReflectTypeDescriptionProvider");
            Type? node = componentModel?.GetType("System.ComponentModel.TypeDescriptor+TypeDescriptionNode");
            if (descriptor is null || reflectProvider is null || node is null)
            {
                return;
            }

            const BindingFlags Static = BindingFlags.Static | BindingFlags.NonPublic;
            const BindingFlags Instance = BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public;
            foreach (string name in (string[])["s_defaultProviderInitialized", "s_providerTypeTable"])
            {
                RemoveUnloaded(descriptor.GetField(name, Static)?.GetValue(null), writeLock: null, Unloaded);
            }

            FieldInfo? nextField = node.GetField("Next", Instance);
            FieldInfo? providerField = node.GetField("Provider", Instance);
            FieldInfo? typeDataField = reflectProvider.GetField("_typeData", Instance);
            object? providerLock = reflectProvider.GetField("s_internalSyncObject", Static)?.GetValue(null); // older shape: a Hashtable
            if (descriptor.GetField("s_providerTable", Static)?.GetValue(null) is not Hashtable providerTable ||
                nextField is null || providerField is null || typeDataField is null)
            {
                return;
            }

            List<object> nodes;
            lock (providerTable) // the lock TypeDescriptor writes it under
            {
                nodes = [.. providerTable.Values.Cast<object>().Where(node.IsInstanceOfType)];
            }

            var seen = new HashSet<object>(ReferenceEqualityComparer.Instance);
            foreach (object first in nodes)
            {
                for (object? current = first; current is not null && node.IsInstanceOfType(current) && seen.Add(current); current = nextField.GetValue(current))
                {
                    if (providerField.GetValue(current) is { } provider && reflectProvider.IsInstanceOfType(provider) && seen.Add(provider))
                    {
                        RemoveUnloaded(typeDataField.GetValue(provider), providerLock, Unloaded);
                    }
                }
            }
        }
        catch (Exception)
        {
            // A framework whose private shape differs: leave the tables; the unload check reports what stays alive.
        }
    }

    /// <summary>
    /// Removes the keys <paramref name="unloaded"/> selects from a framework table: a concurrent dictionary directly (its
    /// IDictionary.Remove is TryRemove), a Hashtable only under the lock its owner writes it under.
    /// </summary>
    private static void RemoveUnloaded(object? table, object? writeLock, Func<object?, bool> unloaded)
    {
        if (table is IDictionary concurrent && table.GetType() is { IsGenericType: true } type &&
            type.GetGenericTypeDefinition() == typeof(System.Collections.Concurrent.ConcurrentDictionary<,>))
        {
            foreach (object key in concurrent.Keys.Cast<object>().Where(unloaded).ToList())
            {
                concurrent.Remove(key);
            }
        }
        else if (table is Hashtable hashtable && writeLock is not null)
        {
            lock (writeLock)
            {
                foreach (object key in hashtable.Keys.Cast<object>().Where(unloaded).ToList())
                {
                    hashtable.Remove(key);
                }
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
