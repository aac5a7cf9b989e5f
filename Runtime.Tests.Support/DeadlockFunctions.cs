namespace Isolates.Tests.Support;

/// <summary>
/// Isolate code that blocks its own thread: on a task whose continuation was posted to the isolate's own queue (a
/// deadlock the runtime must report), and on waits that end by themselves (which it must not report).
/// </summary>
public static class DeadlockWork
{
    /// <summary>The isolate's thread blocks in <c>.Result</c> while <see cref="AwaitOnceAsync"/>'s continuation waits in its queue.</summary>
    public static int BlockOnResult() => AwaitOnceAsync().Result;

    public static int BlockOnWait()
    {
        Task<int> pending = AwaitOnceAsync();
        pending.Wait();
        return pending.Result;
    }

    public static int BlockOnGetResult() => AwaitOnceAsync().GetAwaiter().GetResult();

    /// <summary>An async call whose continuation (not its first part) blocks.</summary>
    public static async Task<int> BlockInContinuationAsync()
    {
        await Task.Yield();
        return AwaitOnceAsync().Result;
    }

    /// <summary>Blocks on work that completes on the thread pool without posting back: not a deadlock.</summary>
    public static int BlockOnWorkElsewhere(int milliseconds) => Task.Run(() =>
    {
        Thread.Sleep(milliseconds);
        return 7;
    }).Result;

    /// <summary>Sleeps briefly while one of its own continuations waits in the queue; the continuation runs afterwards.</summary>
    public static int SleepWithPendingContinuation(int milliseconds)
    {
        _ = AwaitOnceAsync();
        Thread.Sleep(milliseconds);
        return 1;
    }

    /// <summary>AppDomain data slot of the host's task that ends <see cref="BlockOnOwnContinuationUntilReleased"/>.</summary>
    public const string ReleaseKey = "Isolates.Tests.Support.DeadlockWork.Release";

    /// <summary>
    /// Blocks like <see cref="BlockOnResult"/> (its own continuation waits in the queue behind it) until the host
    /// completes the task in <see cref="ReleaseKey"/>; returns -1 then, since its own task could not finish.
    /// </summary>
    public static int BlockOnOwnContinuationUntilReleased()
    {
        var release = (Task)AppDomain.CurrentDomain.GetData(ReleaseKey)!;
        Task<int> own = AwaitOnceAsync();
        Task.WhenAny(own, release).Wait();
        return own.IsCompleted ? own.Result : -1;
    }

    /// <summary>AppDomain data slots of <see cref="SignalThenWait"/>: a TaskCompletionSource it completes when it starts, a task that ends it.</summary>
    public const string StartedKey = "Isolates.Tests.Support.DeadlockWork.Started";

    public const string ReleaseSecondKey = "Isolates.Tests.Support.DeadlockWork.ReleaseSecond";

    /// <summary>Innocent work after a blocked call: says it started, then waits (on work elsewhere) until the host releases it.</summary>
    public static int SignalThenWait()
    {
        ((TaskCompletionSource)AppDomain.CurrentDomain.GetData(StartedKey)!).TrySetResult();
        ((Task)AppDomain.CurrentDomain.GetData(ReleaseSecondKey)!).Wait();
        return 5;
    }

    /// <summary>Blocks on a call to its own isolate: the call waits in the queue behind this one, which only that thread can run.</summary>
    public static int BlockOnCallToSelf() => Isolate.Current!.CallAsync(Ping).Result;

    public static int Ping() => 1;

    private static async Task<int> AwaitOnceAsync()
    {
        await Task.Delay(1); // resumes through the isolate's synchronization context: posted to its queue
        return 42;
    }
}
