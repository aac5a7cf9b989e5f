using System.Threading.Channels;

namespace Isolates.Channels;

/// <summary>The <see cref="Channel{T}"/> handed to the creator: a reader and a writer over one core.</summary>
internal sealed class IsolateChannelPair<T> : Channel<T>, IChannelEnd
{
    public IsolateChannelPair(ChannelCore core)
    {
        Core = core;
        Reader = core.CreateReader<T>();
        Writer = core.CreateWriter<T>();
    }

    public ChannelCore Core { get; }

    public bool IsWriter => true;
}
