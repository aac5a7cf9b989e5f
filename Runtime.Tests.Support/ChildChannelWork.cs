using System.Threading.Channels;

namespace Isolates.Tests.Support;

/// <summary>A record that streams through channels bridged to a child process (generated codec).</summary>
[Shareable]
public sealed record Sample(int Seq, string Label, double Value);

/// <summary>Functions run in child-process isolates that read and write channel ends passed by the host (Processes tests).</summary>
public static class ChildChannelWork
{
    /// <summary>Copies every item to <paramref name="output"/> in order, completes it, and returns how many.</summary>
    public static async Task<int> PipeIntsAsync(ChannelReader<int> input, ChannelWriter<int> output)
    {
        int count = 0;
        await foreach (int item in input.ReadAllAsync())
        {
            await output.WriteAsync(item);
            count++;
        }

        output.Complete();
        return count;
    }

    /// <summary>As <see cref="PipeIntsAsync"/> for records, touching each (so it is really decoded as the child's own type).</summary>
    public static async Task<int> PipeSamplesAsync(ChannelReader<Sample> input, ChannelWriter<Sample> output)
    {
        int count = 0;
        while (await input.WaitToReadAsync())
        {
            while (input.TryRead(out Sample? sample))
            {
                await output.WriteAsync(sample with { Label = sample.Label + "'" });
                count++;
            }
        }

        output.Complete();
        return count;
    }

    /// <summary>Copies items one by one, pausing before each; never completes <paramref name="output"/> (the host kills it).</summary>
    public static async Task PipeSlowlyAsync(ChannelReader<int> input, ChannelWriter<int> output, int pauseMilliseconds)
    {
        while (true)
        {
            await Task.Delay(pauseMilliseconds);
            await output.WriteAsync(await input.ReadAsync());
        }
    }

    /// <summary>Reads <paramref name="count"/> items, pausing before each; returns their sum.</summary>
    public static async Task<long> ReadSlowlyAsync(ChannelReader<int> input, int count, int pauseMilliseconds)
    {
        long sum = 0;
        for (int i = 0; i < count; i++)
        {
            await Task.Delay(pauseMilliseconds);
            sum += await input.ReadAsync();
        }

        return sum;
    }

    /// <summary>Reads until the channel completes; returns how many items came (throws what the channel was completed with).</summary>
    public static async Task<int> CountUntilCompletedAsync(ChannelReader<int> input)
    {
        int count = 0;
        await foreach (int item in input.ReadAllAsync())
        {
            count++;
        }

        return count;
    }

    /// <summary>Waits for one item.</summary>
    public static async Task<int> ReadOneAsync(ChannelReader<int> input) => await input.ReadAsync();

    /// <summary>Writes 0..count-1, then completes the channel (with an error carrying <paramref name="error"/>, unless null).</summary>
    public static async Task<int> WriteIntsAsync(ChannelWriter<int> output, int count, string? error)
    {
        for (int i = 0; i < count; i++)
        {
            await output.WriteAsync(i);
        }

        output.Complete(error is null ? null : new InvalidOperationException(error));
        return count;
    }

    /// <summary>Writes 0..count-1, then faults the isolate from an async void method (code escaping any call).</summary>
    public static async Task WriteThenFaultAsync(ChannelWriter<int> output, int count)
    {
        for (int i = 0; i < count; i++)
        {
            await output.WriteAsync(i);
        }

        FaultLater();
    }

    private static async void FaultLater()
    {
        await Task.Yield();
        throw new InvalidOperationException("escaped the isolate");
    }

    /// <summary>Writes to a whole channel (refused: a Channel&lt;T&gt; cannot be passed to a child).</summary>
    public static int TakesWholeChannel(Channel<int> channel) => channel.Reader.Count;
}
