using System.Runtime.CompilerServices;

namespace Isolates.Tests.Support;

/// <summary>
/// Work for the tests of chunks that a pool isolate refused before starting them. The host and every in-process
/// isolate share AppDomain data and CoreLib types (their own statics are not shared), so a test hands its gates and
/// per-item run counters to isolate code through AppDomain data keys.
/// </summary>
public static class PoolResendWork
{
    /// <summary>The AppDomain data key of a <see cref="ManualResetEventSlim"/> that <see cref="Block"/> sets once it runs.</summary>
    public const string BlockedKey = "Isolates.Tests.PoolResendWork.Blocked";

    /// <summary>The AppDomain data key of a <see cref="ManualResetEventSlim"/> that releases <see cref="Block"/>.</summary>
    public const string ReleaseKey = "Isolates.Tests.PoolResendWork.Release";

    /// <summary>The AppDomain data key of a long array of one: <see cref="Block"/> writes its isolate's id there.</summary>
    public const string BlockedOnKey = "Isolates.Tests.PoolResendWork.BlockedOn";

    /// <summary>The AppDomain data key of an int array: how many times each item ran (item value = index).</summary>
    public const string RunsKey = "Isolates.Tests.PoolResendWork.Runs";

    /// <summary>Holds the isolate's thread until the host releases it (at most 30 s), so work queues behind it.</summary>
    public static int Block()
    {
        if (AppDomain.CurrentDomain.GetData(BlockedOnKey) is long[] blockedOn)
        {
            Volatile.Write(ref blockedOn[0], Isolate.Current?.Id ?? 0);
        }

        Event(BlockedKey).Set();
        Event(ReleaseKey).Wait(TimeSpan.FromSeconds(30));
        return 0;
    }

    /// <summary>
    /// On item -1: faults its isolate as soon as this item returns (the fault is queued on the isolate's thread now,
    /// ahead of the chunks the pool queues after it), then holds the thread like <see cref="Block"/>; the item itself
    /// succeeds. Other items count their run and take a few milliseconds.
    /// </summary>
    public static int FaultAfterMinusOne(int x)
    {
        if (x == -1)
        {
            FaultSoon();
            Block();
            return x;
        }

        return CountRun(x);
    }

    /// <summary>
    /// On item -1: faults its isolate while this item is in flight (awaiting), so the fault lands ahead of the chunks
    /// queued after it; other items count their run.
    /// </summary>
    public static async Task<int> FaultDuringMinusOneAsync(int x)
    {
        if (x == -1)
        {
            FaultSoon();
            Block();
            await Task.Delay(TimeSpan.FromSeconds(30));
        }

        return CountRun(x);
    }

    /// <summary>On item -1: holds the thread like <see cref="Block"/>; other items count their run.</summary>
    public static int BlockOnMinusOne(int x) => x == -1 ? Block() - 1 : CountRun(x);

    /// <summary>Counts one run of item <paramref name="x"/>, takes 2 ms (so chunks queue up), and returns it.</summary>
    public static int CountRun(int x)
    {
        if (AppDomain.CurrentDomain.GetData(RunsKey) is int[] runs)
        {
            Interlocked.Increment(ref runs[x]);
        }

        Thread.Sleep(2);
        return x;
    }

    /// <summary>Squares <paramref name="x"/> in 200 ms: long enough for a test to kill its child while it runs.</summary>
    public static int SquareSlowly(int x)
    {
        Thread.Sleep(200);
        return x * x;
    }

    private static ManualResetEventSlim Event(string key) =>
        AppDomain.CurrentDomain.GetData(key) as ManualResetEventSlim ?? throw new InvalidOperationException($"The test did not set AppDomain data '{key}'.");

    // Throws before its first await: the exception is posted to the isolate's synchronization context at once, and
    // escapes there (outside any call) as soon as the code running now returns: the isolate faults.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async void FaultSoon()
    {
        await Task.CompletedTask;
        throw new InvalidOperationException("fault queued by item -1");
    }
}
