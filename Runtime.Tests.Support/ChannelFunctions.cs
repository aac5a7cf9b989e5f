using System.Runtime.Loader;
using System.Threading.Channels;
using MessagePack;

namespace Isolates.Tests.Support;

[MessagePackObject]
public sealed record Purchase([property: Key(0)] int Id, [property: Key(1)] decimal Price);

/// <summary>Isolate-side code that works with channel ends received as arguments.</summary>
public static class ChannelWork
{
    public static async Task<decimal> SumPurchasesAsync(ChannelReader<Purchase> reader)
    {
        decimal total = 0;
        await foreach (Purchase order in reader.ReadAllAsync())
        {
            if (AssemblyLoadContext.GetLoadContext(order.GetType().Assembly) == AssemblyLoadContext.Default)
            {
                throw new InvalidOperationException("the isolate received the host's Purchase type");
            }

            total += order.Price;
        }

        return total;
    }

    public static async Task ProduceAsync(ChannelWriter<int> writer, int count)
    {
        for (int i = 0; i < count; i++)
        {
            await writer.WriteAsync(i);
        }

        writer.Complete();
    }

    public static async Task ProduceThenFailAsync(ChannelWriter<int> writer)
    {
        await writer.WriteAsync(1);
        await writer.WriteAsync(2);
        writer.Complete(new InvalidOperationException("producer gave up"));
    }

    public static async Task<long> SquareAllAsync(ChannelReader<int> input, ChannelWriter<long> output)
    {
        long seen = 0;
        await foreach (int value in input.ReadAllAsync())
        {
            await output.WriteAsync((long)value * value);
            seen++;
        }

        output.Complete();
        return seen;
    }

    public static async Task ReplyOnEachAsync(ChannelReader<ChannelWriter<string>> requests)
    {
        await foreach (ChannelWriter<string> replyTo in requests.ReadAllAsync())
        {
            await replyTo.WriteAsync($"hello from {Isolate.Current!.Name}");
            replyTo.Complete();
        }
    }

    public static async Task WriteOneThenCrashAsync(ChannelWriter<int> writer)
    {
        await writer.WriteAsync(1);
        Failing.StartAsyncVoidThatThrows();
    }

    public static ChannelReader<int> MakeChannelInside(int count)
    {
        Channel<int> channel = IsolateChannel.CreateUnbounded<int>();
        for (int i = 0; i < count; i++)
        {
            channel.Writer.TryWrite(i);
        }

        channel.Writer.Complete();
        return channel.Reader;
    }

    public static int CountItems(ChannelReader<int> reader)
    {
        int count = 0;
        while (reader.TryRead(out _))
        {
            count++;
        }

        return count;
    }
}

public static class FanWork
{
    public static async Task WriteRangeAsync(ChannelWriter<Purchase> writer, int from, int count)
    {
        for (int i = from; i < from + count; i++)
        {
            await writer.WriteAsync(new Purchase(i, 1m));
        }
    }

    public static async Task<long> DrainIdsAsync(ChannelReader<Purchase> reader)
    {
        long sum = 0;
        await foreach (Purchase purchase in reader.ReadAllAsync())
        {
            sum += purchase.Id;
        }

        return sum;
    }
}

/// <summary>Isolate code for the ring channel's wake-up rules.</summary>
public static class RingWork
{
    /// <summary>Takes one item without waiting, then waits for a signal on another channel: the turn ends in between.</summary>
    public static async Task<int> ReadOneThenAwaitSignalAsync(ChannelReader<int> items, ChannelReader<int> signal)
    {
        if (!items.TryRead(out int first))
        {
            throw new InvalidOperationException("expected an item to be waiting");
        }

        int value = await signal.ReadAsync();
        return first + value;
    }

    /// <summary>Blocks the isolate's thread on a write (sync over async); true if the write went in within the time.</summary>
    public static bool WriteAndBlock(ChannelWriter<int> writer, int value, int timeoutMs) =>
        writer.WriteAsync(value).AsTask().Wait(timeoutMs);

    /// <summary>Takes one item, then keeps this turn busy (long-running isolate code) for a while.</summary>
    public static int ReadOneThenStayBusy(ChannelReader<int> items, int busyMs)
    {
        if (!items.TryRead(out int first))
        {
            throw new InvalidOperationException("expected an item to be waiting");
        }

        Thread.Sleep(busyMs);
        return first;
    }
}
