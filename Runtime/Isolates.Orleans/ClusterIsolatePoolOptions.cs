using Microsoft.Extensions.Logging;

namespace Isolates.Orleans;

/// <summary>What a cluster map does with the chunks a silo was running when it left the cluster.</summary>
public enum SiloLossBehavior
{
    /// <summary>
    /// Fail the map with <see cref="ClusterSiloLostException"/>, naming every item that was in flight on the lost silo
    /// (the default): they may or may not have run, and nothing is run twice.
    /// </summary>
    FailMap = 0,

    /// <summary>
    /// Run the lost chunks again on the silos that remain (at-least-once: an item may have run on the lost silo too).
    /// Only for idempotent functions. The map fails with <see cref="ClusterSiloLostException"/> only when no silo is left.
    /// </summary>
    RerunElsewhere = 1,
}

/// <summary>How a caller's <see cref="IClusterIsolatePool"/> spreads work over the cluster. The defaults suit CPU-bound work.</summary>
public sealed record ClusterIsolatePoolOptions
{
    /// <summary>What happens to the chunks of a silo that leaves mid-map. Default <see cref="SiloLossBehavior.FailMap"/>.</summary>
    public SiloLossBehavior OnSiloLost { get; init; } = SiloLossBehavior.FailMap;

    /// <summary>
    /// How many items one trip to a silo carries. 0 (the default) chooses it from the per-item time each silo
    /// measures, so that a chunk takes about <see cref="TargetChunkDuration"/> on its silo.
    /// </summary>
    public int ChunkSize { get; init; }

    /// <summary>How long an automatically sized chunk should take on its silo. Default 20 ms: the hop to a silo stays a small share.</summary>
    public TimeSpan TargetChunkDuration { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Chunks in flight per silo at once, so a silo never waits for the next chunk to travel. Default 2.</summary>
    public int ChunksInFlightPerSilo { get; init; } = 2;

    /// <summary>
    /// How often a running map looks at the cluster's membership. Default 1 s. Silos that joined take work from then
    /// on; a silo that membership declared dead loses the chunks it was running (<see cref="OnSiloLost"/>) at once,
    /// instead of the map waiting for replies that will not come.
    /// </summary>
    public TimeSpan MembershipRefreshInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Where the caller side logs (a lost silo, a rerun chunk); null: no logs.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    internal void Validate()
    {
        if (!Enum.IsDefined(OnSiloLost))
        {
            throw new ArgumentOutOfRangeException(nameof(OnSiloLost), OnSiloLost, "ClusterIsolatePoolOptions.OnSiloLost must be FailMap or RerunElsewhere.");
        }

        if (ChunkSize < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ChunkSize), ChunkSize, "ClusterIsolatePoolOptions.ChunkSize must be positive, or 0 to choose automatically.");
        }

        if (TargetChunkDuration <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(TargetChunkDuration), TargetChunkDuration, "ClusterIsolatePoolOptions.TargetChunkDuration must be positive.");
        }

        if (ChunksInFlightPerSilo < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(ChunksInFlightPerSilo), ChunksInFlightPerSilo, "ClusterIsolatePoolOptions.ChunksInFlightPerSilo must be at least 1.");
        }

        if (MembershipRefreshInterval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(MembershipRefreshInterval), MembershipRefreshInterval, "ClusterIsolatePoolOptions.MembershipRefreshInterval must be positive.");
        }
    }
}
