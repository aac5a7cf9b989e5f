using System.Threading.Channels;

namespace Isolates.Benchmarks.Targets;

/// <summary>A small shareable record of three fields: the streaming figure's "record" message.</summary>
[Shareable]
public sealed record Tick(int Id, double Price, long Stamp);

/// <summary>
/// Channel stages run inside isolates, written the way fast channel code is written: TryWrite/TryRead in a loop and
/// an await only when the channel is full or empty.
/// </summary>
public static class Streaming
{
    public static async Task ProduceIntsAsync(ChannelWriter<int> writer, int count)
    {
        for (int i = 0; i < count; i++)
        {
            if (!writer.TryWrite(i))
            {
                await writer.WriteAsync(i);
            }
        }

        writer.Complete();
    }

    public static async Task<long> ConsumeIntsAsync(ChannelReader<int> reader)
    {
        long sum = 0;
        while (await reader.WaitToReadAsync())
        {
            while (reader.TryRead(out int value))
            {
                sum += value;
            }
        }

        return sum;
    }

    public static async Task ProduceTicksAsync(ChannelWriter<Tick> writer, int count)
    {
        for (int i = 0; i < count; i++)
        {
            var tick = new Tick(i, i * 0.5, i);
            if (!writer.TryWrite(tick))
            {
                await writer.WriteAsync(tick);
            }
        }

        writer.Complete();
    }

    public static async Task<long> ConsumeTicksAsync(ChannelReader<Tick> reader)
    {
        long sum = 0;
        while (await reader.WaitToReadAsync())
        {
            while (reader.TryRead(out Tick? tick))
            {
                sum += tick.Id;
            }
        }

        return sum;
    }

    /// <summary>The next tick: the first-call figure's [Shareable] record argument and result.</summary>
    public static Tick NextTick(Tick tick) => tick with { Id = tick.Id + 1 };

    /// <summary>Answers every request with the same value until the requests end.</summary>
    public static async Task EchoAsync(ChannelReader<int> requests, ChannelWriter<int> replies)
    {
        await foreach (int request in requests.ReadAllAsync())
        {
            await replies.WriteAsync(request);
        }

        replies.Complete();
    }
}
