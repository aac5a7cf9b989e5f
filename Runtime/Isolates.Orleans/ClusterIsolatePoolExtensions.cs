using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Isolates.Orleans;

namespace Orleans;

/// <summary>Finds the isolate pools the silos of a cluster run (<c>AddIsolatePool</c>).</summary>
public static class ClusterIsolatePoolExtensions
{
    private static readonly ConditionalWeakTable<IGrainFactory, ConcurrentDictionary<(string, ClusterIsolatePoolOptions), ClusterIsolatePool>> Pools = [];

    /// <summary>
    /// The isolate pool named <paramref name="name"/> across the cluster, with default options. Works with an
    /// <c>IClusterClient</c> and from inside a grain (its <c>GrainFactory</c>). Nothing is contacted until the first
    /// map; the same pool object is returned for the same factory, name and options.
    /// </summary>
    /// <param name="grains">An <c>IClusterClient</c> or <c>IGrainFactory</c>.</param>
    /// <param name="name">The name the silos gave the pool in <c>AddIsolatePool</c>.</param>
    /// <returns>The cluster pool.</returns>
    public static IClusterIsolatePool GetIsolatePool(this IGrainFactory grains, string name) =>
        grains.GetIsolatePool(name, new ClusterIsolatePoolOptions());

    /// <summary>The isolate pool named <paramref name="name"/> across the cluster, spreading work as <paramref name="options"/> say.</summary>
    /// <param name="grains">An <c>IClusterClient</c> or <c>IGrainFactory</c>.</param>
    /// <param name="name">The name the silos gave the pool in <c>AddIsolatePool</c>.</param>
    /// <param name="options">How this caller spreads work and what it does when a silo is lost.</param>
    /// <returns>The cluster pool.</returns>
    public static IClusterIsolatePool GetIsolatePool(this IGrainFactory grains, string name, ClusterIsolatePoolOptions options)
    {
        ArgumentNullException.ThrowIfNull(grains);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return Pools.GetOrCreateValue(grains).GetOrAdd((name, options), static (key, g) => new ClusterIsolatePool(g, key.Item1, key.Item2), grains);
    }
}
