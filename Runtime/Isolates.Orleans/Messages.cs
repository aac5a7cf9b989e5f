using Orleans;

namespace Isolates.Orleans;

/// <summary>
/// One chunk of a cluster map as it travels to a silo: the function named as a child process names it (assembly
/// identity and metadata token, generic arguments likewise) and the items as the MessagePack bytes Isolates produces,
/// so user types need no Orleans serializer of their own.
/// </summary>
[GenerateSerializer, Immutable]
internal sealed class ChunkRequest
{
    [Id(0)] public required string Assembly { get; init; }

    [Id(1)] public required int Token { get; init; }

    [Id(2)] public required string[] GenericAssemblies { get; init; }

    [Id(3)] public required int[] GenericTokens { get; init; }

    /// <summary>The function's <see cref="Calls.ResultShape"/> as a byte.</summary>
    [Id(4)] public required byte Shape { get; init; }

    [Id(5)] public required byte[] Items { get; init; }

    [Id(6)] public required int Count { get; init; }

    /// <summary>The caller's W3C trace context (Activity.Current.Id), continued on the silo.</summary>
    [Id(7)] public string? TraceParent { get; init; }

    /// <summary>The index of the chunk's first item in the whole map (for messages and logs).</summary>
    [Id(8)] public long FirstIndex { get; init; }

    /// <summary>The largest message body the caller accepts (its Orleans <c>MaxMessageBodySize</c>): the silo fails a larger reply clearly instead of sending it.</summary>
    [Id(9)] public long MaxReplyBytes { get; init; } = long.MaxValue;
}

/// <summary>A silo's pool of one name, as a caller needs to know it.</summary>
[GenerateSerializer, Immutable]
internal sealed class SiloPoolInfo
{
    /// <summary>The pool's isolates; 0 when the silo runs no pool of that name.</summary>
    [Id(0)] public int Size { get; init; }

    /// <summary>The silo's Orleans <c>MaxMessageBodySize</c>: a larger message closes its connection instead of arriving.</summary>
    [Id(1)] public long MaxMessageBytes { get; init; }
}

/// <summary>What became of a chunk on a silo.</summary>
internal enum ChunkOutcome : byte
{
    /// <summary>Every item ran; <see cref="ChunkReply.Results"/> holds the results in order.</summary>
    Done = 0,

    /// <summary>An item (or the chunk itself) failed; <see cref="ChunkReply.Error"/> holds the error.</summary>
    Failed = 1,

    /// <summary>The silo's pool was closing and cut the chunk short: some items may have run.</summary>
    Lost = 2,

    /// <summary>The silo did not start the chunk (its pool is closed or missing): nothing ran, it may go elsewhere.</summary>
    NotRun = 3,
}

[GenerateSerializer, Immutable]
internal sealed class ChunkReply
{
    [Id(0)] public ChunkOutcome Outcome { get; init; }

    [Id(1)] public byte[]? Results { get; init; }

    /// <summary>The error as <c>RemoteError</c> bytes (text only, like every error that leaves an isolate).</summary>
    [Id(2)] public byte[]? Error { get; init; }

    /// <summary>For a failed item: its index inside the chunk.</summary>
    [Id(3)] public long? ItemIndex { get; init; }

    [Id(4)] public long IsolateId { get; init; }

    [Id(5)] public string? IsolateName { get; init; }

    /// <summary>Wall-clock time the silo's pool took for the chunk, in <see cref="TimeSpan"/> ticks.</summary>
    [Id(6)] public long ElapsedTicks { get; init; }

    /// <summary>Why the chunk was lost or not run (for the exception and the log).</summary>
    [Id(7)] public string? Reason { get; init; }
}
