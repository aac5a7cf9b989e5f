using System.Threading.Channels;

namespace Isolates.Benchmarks.Floors;

/// <summary>
/// The floor under an async call into a dedicated thread: a channel of (value, reply) drained by one thread that
/// spins briefly before it blocks (the same spin as the isolate's queue), replying through a task whose
/// continuations run asynchronously, so caller code never runs on the worker thread.
/// </summary>
public sealed class ChannelWorker : IDisposable
{
    private const int SpinIterations = 64;

    private readonly Channel<(int Value, TaskCompletionSource<int> Reply)> _channel =
        Channel.CreateUnbounded<(int, TaskCompletionSource<int>)>(new UnboundedChannelOptions { SingleReader = true });

    private readonly Thread _worker;

    public ChannelWorker()
    {
        _worker = new Thread(Drain) { IsBackground = true, Name = "channel worker" };
        _worker.Start();
    }

    /// <summary>Sends <paramref name="value"/> to the worker; the task completes with the echoed value.</summary>
    public Task<int> CallAsync(int value)
    {
        var reply = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_channel.Writer.TryWrite((value, reply)))
        {
            reply.SetException(new ObjectDisposedException(nameof(ChannelWorker)));
        }

        return reply.Task;
    }

    public void Dispose()
    {
        _channel.Writer.TryComplete();
        _worker.Join();
    }

    private void Drain()
    {
        ChannelReader<(int Value, TaskCompletionSource<int> Reply)> reader = _channel.Reader;
        while (true)
        {
            if (TryReadSpinning(reader, out var item))
            {
                item.Reply.SetResult(item.Value);
                continue;
            }

            if (!reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                return; // completed and drained
            }
        }
    }

    private static bool TryReadSpinning(ChannelReader<(int, TaskCompletionSource<int>)> reader, out (int Value, TaskCompletionSource<int> Reply) item)
    {
        if (reader.TryRead(out item))
        {
            return true;
        }

        for (int i = 0; i < SpinIterations; i++)
        {
            Thread.SpinWait(20);
            if (reader.TryRead(out item))
            {
                return true;
            }
        }

        return false;
    }
}
