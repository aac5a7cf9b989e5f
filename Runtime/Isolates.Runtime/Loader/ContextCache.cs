using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;
using Isolates.Calls;
using Isolates.Wire;

namespace Isolates.Loader;

/// <summary>
/// Per-context caches of things built by reflection over a context's types: codecs and call plans. A cache for a
/// collectible context lives in that context (or is keyed weakly by it), so caching never keeps a context alive.
/// </summary>
internal sealed class ContextCache
{
    private static readonly ContextCache Global = new();
    private static readonly ConditionalWeakTable<AssemblyLoadContext, ContextCache> Foreign = new();

    public ConcurrentDictionary<Type, Codec> Codecs { get; } = new();

    public ConcurrentDictionary<(MethodInfo Method, Type DelegateType), CallPlan> CallPlans { get; } = new();

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

        AssemblyLoadContext? context = AssemblyLoadContext.GetLoadContext(assembly);
        return context switch
        {
            IsolateLoadContext isolateContext => isolateContext.Cache,
            null => Global,
            _ => Foreign.GetValue(context, static _ => new ContextCache()),
        };
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
