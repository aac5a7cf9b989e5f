using System.Threading.Channels;

namespace Isolates.Tests.Support;

/// <summary>Isolate-side code for the controlled-scheduling tests (Runtime.Tests/Scheduling).</summary>
public static class ScheduleWork
{
    /// <summary>Moves every item of <paramref name="input"/> to <paramref name="output"/> (unbounded: the move never waits) until input ends or the isolate closes.</summary>
    public static async Task ForwardAsync(ChannelReader<int> input, ChannelWriter<int> output)
    {
        while (true)
        {
            int item = await input.ReadAsync();
            if (!output.TryWrite(item))
            {
                throw new InvalidOperationException($"the output refused item {item}");
            }
        }
    }

    /// <summary>The same as <see cref="ForwardAsync"/>, reading with <c>ReadAllAsync</c>.</summary>
    public static async Task ForwardAllAsync(ChannelReader<int> input, ChannelWriter<int> output)
    {
        await foreach (int item in input.ReadAllAsync())
        {
            if (!output.TryWrite(item))
            {
                throw new InvalidOperationException($"the output refused item {item}");
            }
        }
    }

    /// <summary>The same as <see cref="ForwardAsync"/>, reading with <c>WaitToReadAsync</c> and <c>TryRead</c>.</summary>
    public static async Task ForwardWaitingAsync(ChannelReader<int> input, ChannelWriter<int> output)
    {
        while (await input.WaitToReadAsync())
        {
            while (input.TryRead(out int item))
            {
                if (!output.TryWrite(item))
                {
                    throw new InvalidOperationException($"the output refused item {item}");
                }
            }
        }
    }

    /// <summary>Writes 0, 1, 2, ... to <paramref name="output"/>, and each number to <paramref name="written"/> once its write returned, until the isolate closes.</summary>
    public static async Task WriteNumbersAsync(ChannelWriter<int> output, ChannelWriter<int> written)
    {
        for (int i = 0; ; i++)
        {
            await output.WriteAsync(i);
            if (!written.TryWrite(i))
            {
                throw new InvalidOperationException($"the acknowledgements refused item {i}");
            }
        }
    }

    /// <summary>Returns <paramref name="x"/> after a yield, so the call crosses an await inside the isolate.</summary>
    public static async Task<int> EchoLaterAsync(int x)
    {
        await Task.Yield();
        return x;
    }

    /// <summary>Returns <paramref name="x"/> after spinning for <paramref name="spins"/> iterations on the isolate's thread.</summary>
    public static int EchoAfterSpin(int x, int spins)
    {
        Thread.SpinWait(spins);
        return x;
    }
}
