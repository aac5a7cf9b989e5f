using System.Threading.Channels;

namespace Isolates.Hosting.Registrations;

/// <summary>A channel the host owns: created with the host, completed and drained when it stops.</summary>
internal abstract class HostChannel(string name, Type elementType)
{
    public string Name => name;

    public Type ElementType => elementType;

    /// <summary>Completes when every item was read after the writer was completed (faults if the channel failed).</summary>
    public abstract Task Completion { get; }

    /// <summary>No more items: writers (the host's and every isolate's) fail from now on, readers see the end after the buffer.</summary>
    public abstract void CompleteWriter();

    /// <summary>Reads what is left (nobody will deliver it now) and returns how many items that was.</summary>
    public abstract int DiscardRemaining();
}

/// <summary>A host channel of <typeparamref name="T"/>.</summary>
internal sealed class HostChannel<T>(string name, Channel<T> channel) : HostChannel(name, typeof(T))
{
    public Channel<T> Channel => channel;

    public override Task Completion => channel.Reader.Completion;

    public override void CompleteWriter() => channel.Writer.TryComplete();

    public override int DiscardRemaining()
    {
        int count = 0;
        try
        {
            while (channel.Reader.TryRead(out _))
            {
                count++;
            }
        }
        catch (Exception ex) when (ex is ChannelClosedException or IsolateException)
        {
            count++; // an item that could not even be decoded is still an undelivered item
        }

        return count;
    }
}
