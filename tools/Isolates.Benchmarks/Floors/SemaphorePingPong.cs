namespace Isolates.Benchmarks.Floors;

/// <summary>
/// The floor under a round trip between two threads: the caller releases one semaphore, a partner thread wakes,
/// echoes the value and releases another. Synchronous on both sides, so no task, queue or thread-pool hop is involved.
/// </summary>
public sealed class SemaphorePingPong : IDisposable
{
    private readonly SemaphoreSlim _ping = new(0);
    private readonly SemaphoreSlim _pong = new(0);
    private readonly Thread _partner;
    private volatile bool _stopping;
    private int _value;

    public SemaphorePingPong()
    {
        _partner = new Thread(Echo) { IsBackground = true, Name = "ping-pong partner" };
        _partner.Start();
    }

    /// <summary>Hands <paramref name="value"/> to the partner thread and waits for it to come back.</summary>
    public int RoundTrip(int value)
    {
        _value = value;
        _ping.Release(); // a full fence: the partner sees the value
        _pong.Wait();
        return _value;
    }

    public void Dispose()
    {
        _stopping = true;
        _ping.Release();
        _partner.Join();
        _ping.Dispose();
        _pong.Dispose();
    }

    private void Echo()
    {
        while (true)
        {
            _ping.Wait();
            if (_stopping)
            {
                return;
            }

            _pong.Release();
        }
    }
}
