namespace Isolates.Channels;

/// <summary>One encoded item in a channel's buffer: its bytes and the shared objects (channel cores) it refers to.</summary>
internal readonly record struct Message(byte[] Bytes, object[]? Attachments);
