namespace Isolates.Tests.Support;

/// <summary>Calls from one isolate to another that outlive the calling isolate (Runtime.Tests/Calls/CallerCloseTests).</summary>
public static class CallerCloseFunctions
{
    private static int s_waiting;
    private static int s_sawCancellation;

    /// <summary>In the called isolate: how many calls are waiting in <see cref="WaitForeverAsync"/>.</summary>
    public static int Waiting() => Volatile.Read(ref s_waiting);

    /// <summary>In the called isolate: how many calls saw their token cancelled.</summary>
    public static int SawCancellation() => Volatile.Read(ref s_sawCancellation);

    /// <summary>Never finishes (no token): only the called isolate's close ends the call.</summary>
    public static async Task<int> WaitForeverAsync()
    {
        Interlocked.Increment(ref s_waiting);
        await new TaskCompletionSource<int>().Task;
        return 0;
    }

    /// <summary>Waits until its token is cancelled.</summary>
    public static async Task<int> WaitForTokenAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref s_waiting);
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return 0;
        }
        catch (OperationCanceledException)
        {
            Interlocked.Increment(ref s_sawCancellation);
            throw;
        }
    }

    /// <summary>In the calling isolate: calls <see cref="WaitForeverAsync"/> in the isolate named <paramref name="target"/> and awaits it.</summary>
    public static async Task<int> CallAndWaitAsync(string target) => await Find(target).CallAsync(WaitForeverAsync);

    /// <summary>As <see cref="CallAndWaitAsync"/>, but from this isolate's code on the thread pool (after ConfigureAwait(false)).</summary>
    public static async Task<int> CallFromThePoolAndWaitAsync(string target)
    {
        await Task.Delay(1).ConfigureAwait(false);
        return await Find(target).CallAsync(WaitForeverAsync).ConfigureAwait(false);
    }

    /// <summary>In the calling isolate: calls <see cref="WaitForTokenAsync"/> in <paramref name="target"/> (the token argument crosses as none).</summary>
    public static async Task<int> CallWithTokenAndWaitAsync(string target) => await Find(target).CallAsync(WaitForTokenAsync, CancellationToken.None);

    /// <summary>
    /// In the calling isolate: calls <see cref="WaitForeverAsync"/> in <paramref name="target"/> with a token it cancels
    /// once the call runs there, and returns how the call ended.
    /// </summary>
    public static async Task<string> CallAndCancelAsync(string target)
    {
        Isolate isolate = Find(target);
        using var cancellation = new CancellationTokenSource();
        Task<int> call = isolate.CallAsync(WaitForeverAsync, cancellation.Token);
        while (await isolate.CallAsync(Waiting) == 0)
        {
            await Task.Delay(5);
        }

        await cancellation.CancelAsync();
        try
        {
            await call;
            return "completed";
        }
        catch (OperationCanceledException)
        {
            return "cancelled";
        }
    }

    private static Isolate Find(string name) => Isolate.All.Single(i => i.Name == name);
}
