using Orleans;
using Orleans.Concurrency;
using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.Placement;

namespace Isolates.Orleans;

/// <summary>
/// A silo's front door for one pool: keyed "{pool}/{silo}" and placed on exactly that silo, so a map can address
/// every silo's pool by itself (to spread chunks and to know which chunks a dead silo took with it).
/// </summary>
internal interface IIsolatePoolSiloGrain : IGrainWithStringKey
{
    /// <summary>The size of this silo's pool of that name (0 when the silo has none) and its message size limit.</summary>
    Task<SiloPoolInfo> GetPoolAsync();

    /// <summary>
    /// Runs a chunk. Not bounded by Orleans's response timeout (30 s by default), which would count a chunk that runs
    /// longer as lost while its silo still runs it: a caller gives up on a chunk when membership declares its silo dead
    /// (or the call fails, or the caller cancels). A day remains as a backstop for a reply lost while its silo lives.
    /// </summary>
    [ResponseTimeout(ChunkTimeout.Value)]
    Task<ChunkReply> RunChunkAsync(ChunkRequest request, CancellationToken cancellationToken);
}

internal static class ChunkTimeout
{
    /// <summary>The response timeout of a chunk call (<c>TimeSpan.Parse</c> syntax): one day.</summary>
    public const string Value = "1.00:00:00";
}

/// <summary>The silo-local stateless worker in front of a silo's pool (keyed by pool name); any grain on the silo may call it.</summary>
internal interface IIsolatePoolWorkerGrain : IGrainWithStringKey
{
    Task<SiloPoolInfo> GetPoolAsync();

    /// <summary>The front door's local call to the pool: as unbounded by the response timeout as the call to the front door.</summary>
    [ResponseTimeout(ChunkTimeout.Value)]
    Task<ChunkReply> RunChunkAsync(ChunkRequest request, CancellationToken cancellationToken);
}

[SiloTargetedPlacement]
[Reentrant]
internal sealed class IsolatePoolSiloGrain : Grain, IIsolatePoolSiloGrain
{
    private IIsolatePoolWorkerGrain Worker => GrainFactory.GetGrain<IIsolatePoolWorkerGrain>(SiloGrainKey.PoolOf(this.GetPrimaryKeyString()));

    public Task<SiloPoolInfo> GetPoolAsync() => Worker.GetPoolAsync();

    // A local call: the stateless worker activates on this silo, the caller's.
    public Task<ChunkReply> RunChunkAsync(ChunkRequest request, CancellationToken cancellationToken) => Worker.RunChunkAsync(request, cancellationToken);
}

[StatelessWorker(1)]
[Reentrant] // one activation runs every chunk at once: the pool behind it does the spreading over isolates
internal sealed class IsolatePoolWorkerGrain(SiloIsolatePools pools) : Grain, IIsolatePoolWorkerGrain
{
    public Task<SiloPoolInfo> GetPoolAsync() => Task.FromResult(new SiloPoolInfo { Size = pools.SizeOf(this.GetPrimaryKeyString()), MaxMessageBytes = pools.MaxMessageBytes });

    public Task<ChunkReply> RunChunkAsync(ChunkRequest request, CancellationToken cancellationToken) =>
        pools.RunChunkAsync(this.GetPrimaryKeyString(), request, cancellationToken);
}

internal static class SiloGrainKey
{
    public static string For(string pool, SiloAddress silo) => pool + "/" + silo.ToParsableString();

    public static string PoolOf(string key) => key[..key.LastIndexOf('/')];

    public static SiloAddress SiloOf(string key) => SiloAddress.FromParsableString(key[(key.LastIndexOf('/') + 1)..]);
}

/// <summary>Places a grain on the silo its key names, and nowhere else.</summary>
[GenerateSerializer, Immutable]
internal sealed class SiloTargetedPlacement : PlacementStrategy
{
    internal static readonly SiloTargetedPlacement Instance = new();
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
internal sealed class SiloTargetedPlacementAttribute() : PlacementAttribute(SiloTargetedPlacement.Instance);

internal sealed class SiloTargetedPlacementDirector : IPlacementDirector
{
    private const string Refused = "is not (or no longer) an active member of the cluster; its isolate pool cannot take work";

    /// <summary>
    /// Whether a call failed because this director refused to place its front door: the call reached no activation,
    /// so nothing of it ran (a silo that left before the chunk was sent, still in a caller's list of silos). Orleans
    /// carries the refusal as a <see cref="SiloUnavailableException"/>, the type of an in-flight loss too, so its text
    /// tells them apart.
    /// </summary>
    public static bool IsRefusal(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is SiloUnavailableException && e.Message.Contains(Refused, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        SiloAddress silo = SiloGrainKey.SiloOf(target.GrainIdentity.Key.ToString()!);
        if (context.GetCompatibleSilos(target).Contains(silo))
        {
            return Task.FromResult(silo);
        }

        // Never somewhere else: a chunk meant for a silo that left must fail, not run on a silo the map did not choose.
        throw new SiloUnavailableException($"Silo {silo} {Refused}.");
    }
}
