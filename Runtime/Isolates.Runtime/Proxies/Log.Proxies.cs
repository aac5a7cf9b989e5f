using Microsoft.Extensions.Logging;

namespace Isolates.Diagnostics;

/// <summary>Log messages of objects living in isolates (event ids 12-15).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 12, EventName = "UnreferencedObjectReleased", Level = LogLevel.Debug,
        Message = "Isolate {IsolateName} ({IsolateId}): object {ObjectId} ({InterfaceName}) was released because no proxy references it any more")]
    public static partial void UnreferencedObjectReleased(ILogger logger, string isolateName, long isolateId, long objectId, string interfaceName);

    [LoggerMessage(EventId = 13, EventName = "UnreferencedObjectDisposeFailed", Level = LogLevel.Warning,
        Message = "Isolate {IsolateName} ({IsolateId}): object {ObjectId} ({InterfaceName}), released because no proxy references it any more, threw from Dispose/DisposeAsync")]
    public static partial void UnreferencedObjectDisposeFailed(ILogger logger, string isolateName, long isolateId, long objectId, string interfaceName, Exception exception);

    [LoggerMessage(EventId = 14, EventName = "ObjectDisposeFailedAtClose", Level = LogLevel.Warning,
        Message = "Isolate {IsolateName} ({IsolateId}): object {ObjectId} ({TypeName}), disposed because its isolate closed, threw from Dispose/DisposeAsync; the other objects are still disposed")]
    public static partial void ObjectDisposeFailedAtClose(ILogger logger, string isolateName, long isolateId, long objectId, string typeName, Exception exception);

    [LoggerMessage(EventId = 15, EventName = "ObjectsNotDisposedAtClose", Level = LogLevel.Warning,
        Message = "Isolate {IsolateName} ({IsolateId}): {Count} object(s) still in it when it closed were not disposed (or not to the end): {Reason}")]
    public static partial void ObjectsNotDisposedAtClose(ILogger logger, string isolateName, long isolateId, int count, string reason);
}
