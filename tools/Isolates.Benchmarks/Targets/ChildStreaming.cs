using System.Threading.Channels;

namespace Isolates.Benchmarks.Targets;

/// <summary>The middle stage of host -> isolate -> host pipelines: copies every item on, the way fast channel code is written.</summary>
public static class ChildStreaming
{
    public static async Task<long> PipeIntsAsync(ChannelReader<int> input, ChannelWriter<int> output)
    {
        long count = 0;
        while (await input.WaitToReadAsync())
        {
            while (input.TryRead(out int item))
            {
                if (!output.TryWrite(item))
                {
                    await output.WriteAsync(item);
                }

                count++;
            }
        }

        output.Complete();
        return count;
    }

    public static async Task<long> PipeTicksAsync(ChannelReader<Tick> input, ChannelWriter<Tick> output)
    {
        long count = 0;
        while (await input.WaitToReadAsync())
        {
            while (input.TryRead(out Tick? item))
            {
                if (!output.TryWrite(item))
                {
                    await output.WriteAsync(item);
                }

                count++;
            }
        }

        output.Complete();
        return count;
    }
}
