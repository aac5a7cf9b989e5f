using Microsoft.Extensions.Logging;

namespace Isolates.Orleans;

/// <summary>The package's log messages: event ids 50-59 (category <c>Isolates.Orleans</c>).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 50, EventName = "SiloPoolStarted", Level = LogLevel.Information, Message = "Isolate pool '{Pool}' started on silo {Silo} with {Size} isolates")]
    public static partial void SiloPoolStarted(ILogger logger, string pool, int size, string silo);

    [LoggerMessage(EventId = 51, EventName = "SiloPoolStopped", Level = LogLevel.Information, Message = "Isolate pool '{Pool}' stopped on silo {Silo}")]
    public static partial void SiloPoolStopped(ILogger logger, string pool, string silo);

    [LoggerMessage(EventId = 52, EventName = "ClusterChunkLost", Level = LogLevel.Warning, Message = "Cluster isolate pool '{Pool}': silo {Silo} did not finish items {First} to {Last} ({Reason}); the chunk {Action}")]
    public static partial void ChunkLost(ILogger logger, string pool, string silo, long first, long last, string reason, string action);

    [LoggerMessage(EventId = 53, EventName = "ClusterSiloJoined", Level = LogLevel.Information, Message = "Cluster isolate pool '{Pool}': silo {Silo} joined with {Size} isolates and takes work from the running map")]
    public static partial void SiloJoined(ILogger logger, string pool, string silo, int size);

    [LoggerMessage(EventId = 54, EventName = "ClusterMembershipLookupFailed", Level = LogLevel.Warning, Message = "Cluster isolate pool '{Pool}': looking at membership (silos that joined or died) failed; the running map goes on with the silos it has and looks again")]
    public static partial void MembershipLookupFailed(ILogger logger, string pool, Exception exception);

    [LoggerMessage(EventId = 55, EventName = "ClusterSiloDead", Level = LogLevel.Warning, Message = "Cluster isolate pool '{Pool}': membership declared silo {Silo} dead; the running map stops waiting for the chunks it was running")]
    public static partial void SiloDead(ILogger logger, string pool, string silo);
}
