namespace Isolates.Channels;

/// <summary>One encoded item in a channel's buffer: its bytes and the shared objects (channel cores) it refers to.</summary>
internal readonly record struct Message(byte[] Bytes, object[]? Attachments)
{
    /// <summary>The writer's trace context (docs/observability.md); null unless the Isolates activity source has a listener.</summary>
    public Diagnostics.TraceParent? Trace { get; init; }
}
