using System.Diagnostics;
using System.Threading.Channels;

namespace Isolates.Tests.Support;

/// <summary>Isolate code for tests of the edges of work: closing, cancelling and faulting while it runs.</summary>
public static class Edges
{
    /// <summary>Keeps the isolate's thread busy for <paramref name="milliseconds"/>, ignoring every token (a runaway loop that ends).</summary>
    public static int SpinIgnoringTokens(int milliseconds)
    {
        var watch = Stopwatch.StartNew();
        while (watch.ElapsedMilliseconds < milliseconds)
        {
            Thread.SpinWait(100);
        }

        return 42;
    }

    /// <summary>Yields once (so the call is in flight as an async call), then spins like <see cref="SpinIgnoringTokens"/>.</summary>
    public static async Task<int> YieldThenSpinAsync(int milliseconds)
    {
        await Task.Yield();
        return SpinIgnoringTokens(milliseconds);
    }

    /// <summary>
    /// Forwards every item it reads from <paramref name="input"/> to <paramref name="output"/> until the input completes,
    /// reading the way <paramref name="mode"/> says: 0 ReadAsync, 1 ReadAllAsync, 2 WaitToReadAsync + TryRead,
    /// 3 SelectAsync over the input and a second reader that never gets an item.
    /// </summary>
    public static async Task ForwardAsync<T>(ChannelReader<T> input, ChannelWriter<T> output, ChannelReader<T> idle, int mode)
    {
        switch (mode)
        {
            case 0:
                while (true)
                {
                    T item;
                    try
                    {
                        item = await input.ReadAsync();
                    }
                    catch (ChannelClosedException)
                    {
                        return;
                    }

                    Put(output, item);
                }

            case 1:
                await foreach (T item in input.ReadAllAsync())
                {
                    Put(output, item);
                }

                return;
            case 2:
                while (await input.WaitToReadAsync())
                {
                    while (input.TryRead(out T? item))
                    {
                        Put(output, item);
                    }
                }

                return;
            default:
                while (true)
                {
                    Selected<T> selected;
                    try
                    {
                        selected = await IsolateChannel.SelectAsync([input, idle]);
                    }
                    catch (ChannelClosedException)
                    {
                        return;
                    }

                    Put(output, selected.Item);
                }
        }
    }

    /// <summary>Blocks the isolate's thread on a read (sync over async), the way legacy code does: 0 ReadAsync, 1 SelectAsync, 2 SelectAsync with a timeout.</summary>
    public static int ReadBlocking(ChannelReader<int> input, int mode) => mode switch
    {
        0 => input.ReadAsync().AsTask().GetAwaiter().GetResult(),
        1 => IsolateChannel.SelectAsync([input]).AsTask().GetAwaiter().GetResult().Item,
        _ => IsolateChannel.SelectAsync([input], TimeSpan.FromSeconds(10)).AsTask().GetAwaiter().GetResult().Item,
    };

    /// <summary>
    /// Waits on <paramref name="input"/> with a token made inside the isolate that nobody ever cancels (as code that
    /// keeps its own timeout or stop source does): 0 ReadAsync, 1 ReadAllAsync, 2 WaitToReadAsync, 3 SelectAsync.
    /// </summary>
    public static async Task<int> ReadWithOwnTokenAsync(ChannelReader<int> input, int mode)
    {
        using var own = new CancellationTokenSource();
        switch (mode)
        {
            case 0:
                return await input.ReadAsync(own.Token);
            case 1:
                await foreach (int item in input.ReadAllAsync(own.Token))
                {
                    return item;
                }

                return -1;
            case 2:
                return await input.WaitToReadAsync(own.Token) && input.TryRead(out int read) ? read : -1;
            default:
                return (await IsolateChannel.SelectAsync([input], own.Token)).Item;
        }
    }

    /// <summary>
    /// Waits as <see cref="ReadWithOwnTokenAsync"/> does (modes 0 to 2) with a token of its own that fires after
    /// <paramref name="milliseconds"/>; returns whether the wait failed with an OperationCanceledException carrying exactly that token.
    /// </summary>
    public static async Task<bool> CancelledByOwnTokenAsync(ChannelReader<int> input, int mode, int milliseconds)
    {
        using var own = new CancellationTokenSource(milliseconds);
        try
        {
            _ = await ReadWithAsync(input, mode, own.Token);
            return false;
        }
        catch (OperationCanceledException ex)
        {
            return ex.CancellationToken == own.Token;
        }
    }

    private static async Task<int> ReadWithAsync(ChannelReader<int> input, int mode, CancellationToken token)
    {
        switch (mode)
        {
            case 0:
                return await input.ReadAsync(token);
            case 1:
                await foreach (int item in input.ReadAllAsync(token))
                {
                    return item;
                }

                return -1;
            default:
                return await input.WaitToReadAsync(token) ? 1 : -1;
        }
    }

    /// <summary>
    /// Starts a read that must wait and awaits it under a synchronization context that refuses every post (a UI context
    /// whose window is gone), then returns: the item that arrives later can never reach this code.
    /// </summary>
    public static int AwaitReadUnderRefusingContext(ChannelReader<int> input)
    {
        SynchronizationContext? previous = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(new RefusingContext());
        try
        {
            ValueTask<int> read = input.ReadAsync();
            read.GetAwaiter().OnCompleted(static () => { }); // captures the refusing context
            return read.IsCompleted ? 1 : 0;
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(previous);
        }
    }

    private sealed class RefusingContext : SynchronizationContext
    {
        public override void Post(SendOrPostCallback d, object? state) => throw new InvalidOperationException("the context refused the post");
    }

    /// <summary>Fills <paramref name="output"/>, then waits for room with a token of its own that never fires: 0 WriteAsync(-1), 1 WaitToWriteAsync.</summary>
    public static async Task<int> WriteWithOwnTokenAsync(ChannelWriter<int> output, int mode)
    {
        using var own = new CancellationTokenSource();
        int written = 0;
        while (output.TryWrite(written))
        {
            written++;
        }

        if (mode == 0)
        {
            await output.WriteAsync(-1, own.Token);
        }
        else
        {
            _ = await output.WaitToWriteAsync(own.Token);
        }

        return written;
    }

    private static void Put<T>(ChannelWriter<T> output, T item)
    {
        if (!output.TryWrite(item))
        {
            throw new InvalidOperationException($"the output channel refused item {item}");
        }
    }
}
