namespace Isolates.Orleans;

/// <summary>How many payload bytes fit in one Orleans message, leaving room for the rest of a chunk's request or reply.</summary>
internal static class ClusterLimits
{
    /// <summary>
    /// The bytes of items or results one message may carry under a body limit of <paramref name="maxMessageBodySize"/>:
    /// an Orleans message over the limit is not refused but closes its connection, so the call would only end at
    /// its response timeout, looking like a lost silo.
    /// </summary>
    public static long PayloadBudget(long maxMessageBodySize) =>
        Math.Max(1, maxMessageBodySize - Math.Min(maxMessageBodySize / 8, 64 * 1024));
}
