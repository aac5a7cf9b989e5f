namespace Isolates.Channels;

/// <summary>An end of an isolate channel: what the wire format sends (by reference to its core) when the end crosses.</summary>
internal interface IChannelEnd
{
    ChannelCore Core { get; }

    bool IsWriter { get; }
}
