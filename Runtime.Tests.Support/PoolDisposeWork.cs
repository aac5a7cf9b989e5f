namespace Isolates.Tests.Support;

/// <summary>Pool work for the dispose tests: every result differs from default(int), so a defaulted slot shows.</summary>
public static class PoolDisposeWork
{
    public static int SleepOne(int x)
    {
        Thread.Sleep(1);
        return x + 1;
    }

    public static async Task<int> DelayOneAsync(int x)
    {
        await Task.Delay(1);
        return x + 1;
    }

    public static int Sleep(int milliseconds)
    {
        Thread.Sleep(milliseconds);
        return milliseconds;
    }

    /// <summary>Waits, but stops when its isolate closes (a pending timer would keep the isolate's context alive until it fires).</summary>
    public static async Task<int> DelayAsync(int milliseconds)
    {
        await Task.Delay(milliseconds, Isolate.Current!.ClosingToken);
        return milliseconds;
    }

    /// <summary>An initializer slow enough that a replacement isolate is still starting when the pool closes.</summary>
    public static async Task SlowInitializeAsync() => await Task.Delay(300);
}
