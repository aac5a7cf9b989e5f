using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;
using Isolates.Calls;
using Isolates.Wire;

namespace Isolates.Loader;

/// <summary>
/// Per-context caches of things built by reflection over a context's types: codecs and call plans.
/// </summary>
/// <remarks>
/// After <see cref="AssemblyLoadContext.Unload"/> the runtime keeps the context object alive until its loader
/// allocator is collected, so anything reachable from the context object that references the context's types
/// keeps it alive forever (measured: even a <see cref="ConditionalWeakTable{TKey,TValue}"/> keyed by the context
/// leaks). An isolate's cache is therefore emptied and retired before its context is unloaded, and contexts that
/// are not isolates get no cache at all.
/// </remarks>
internal sealed class ContextCache
{
    private static readonly ContextCache Global = new();
    private volatile bool _retired;

    public ConcurrentDictionary<Type, Codec> Codecs { get; } = new();

    public ConcurrentDictionary<(MethodInfo Method, Type DelegateType, ResultShape Shape), CallPlan> CallPlans { get; } = new();

    /// <summary>The targets of call plans in this isolate, by plan id; touched only by the isolate's thread.</summary>
    public Dictionary<long, TargetPlan> Targets { get; } = [];

    /// <summary>The cache that may hold things referencing <paramref name="type"/>.</summary>
    public static ContextCache For(Type type)
    {
        if (!type.IsCollectible)
        {
            return Global;
        }

        Assembly? collectible = FindCollectibleAssembly(type);
        return collectible is null ? Global : For(collectible);
    }

    /// <summary>The cache that may hold things referencing types of <paramref name="assembly"/>.</summary>
    public static ContextCache For(Assembly assembly)
    {
        if (!assembly.IsCollectible)
        {
            return Global;
        }

        return AssemblyLoadContext.GetLoadContext(assembly) is IsolateLoadContext isolateContext && !isolateContext.Cache._retired
            ? isolateContext.Cache
            : new ContextCache(); // used once and dropped: correct, only slower
    }

    /// <summary>Empties the cache for good; called on the isolate's thread just before its context is unloaded.</summary>
    public void Retire()
    {
        _retired = true;
        Codecs.Clear();
        CallPlans.Clear();
        Targets.Clear();
    }

    private static Assembly? FindCollectibleAssembly(Type type)
    {
        if (type.Assembly.IsCollectible)
        {
            return type.Assembly;
        }

        if (type.HasElementType)
        {
            return FindCollectibleAssembly(type.GetElementType()!);
        }

        if (type.IsConstructedGenericType)
        {
            foreach (Type argument in type.GenericTypeArguments)
            {
                if (argument.IsCollectible && FindCollectibleAssembly(argument) is { } found)
                {
                    return found;
                }
            }
        }

        return null;
    }
}
