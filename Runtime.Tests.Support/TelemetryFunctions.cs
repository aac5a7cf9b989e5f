using System.Diagnostics;
using System.Threading.Channels;

namespace Isolates.Tests.Support;

/// <summary>Isolate-side code for the metrics, tracing and exit-notification tests.</summary>
public static class TelemetryWork
{
    private static object? s_kept;

    /// <summary>Allocates about <paramref name="megabytes"/> MB on the calling (isolate's) thread.</summary>
    public static int Allocate(int megabytes)
    {
        int total = 0;
        for (int i = 0; i < megabytes * 16; i++)
        {
            var block = new byte[64 * 1024];
            s_kept = block;
            total += block.Length;
        }

        return total;
    }

    /// <summary>
    /// A fixed amount of CPU work on the calling (isolate's) thread: the same CPU time however loaded the machine is
    /// (a spin for a wall-clock time would get only a share of a busy core).
    /// </summary>
    public static ulong Spin(long iterations)
    {
        ulong x = 88172645463325252UL;
        for (long i = 0; i < iterations; i++)
        {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }

        return x;
    }

    /// <summary>Blocks the isolate's thread until the host writes to <paramref name="signal"/> (within a bound).</summary>
    public static void BlockUntilSignalled(ChannelReader<int> signal)
    {
        // Polls instead of blocking on ReadAsync: a channel wait ends when the isolate closes (whatever its token), and
        // this must hold the thread through a close, like code that watches no token at all.
        var watch = Stopwatch.StartNew();
        while (!signal.TryRead(out _) && watch.Elapsed < TimeSpan.FromSeconds(20))
        {
            Thread.Sleep(5);
        }
    }

    /// <summary>The trace id of the activity current inside the isolate, or null.</summary>
    public static string? CurrentTraceId() => Activity.Current?.TraceId.ToHexString();

    /// <summary>For maps: the trace id current while the item runs, or null.</summary>
    public static string? TraceIdOfItem(int item) => item >= 0 ? Activity.Current?.TraceId.ToHexString() : null;

    /// <summary>The same after an await, which resumes on the isolate's thread through its queue.</summary>
    public static async Task<string?> CurrentTraceIdAfterAwaitAsync()
    {
        await Task.Yield();
        return Activity.Current?.TraceId.ToHexString();
    }

    /// <summary>Reads one number within a bound and returns it.</summary>
    public static async Task<int> ReadOneNumberAsync(ChannelReader<int> reader)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        return await reader.ReadAsync(timeout.Token);
    }

    /// <summary>Reads one item (blocking the isolate until it arrives, within a bound) and returns its id.</summary>
    public static async Task<int> ReadOneAsync(ChannelReader<Purchase> reader)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        Purchase purchase = await reader.ReadAsync(timeout.Token);
        return purchase.Id;
    }
}
