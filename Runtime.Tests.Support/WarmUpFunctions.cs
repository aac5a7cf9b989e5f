namespace Isolates.Tests.Support;

/// <summary>Warm-up code (IsolateOptions.WarmUp) and the calls that show what it left behind in the isolate.</summary>
public static class WarmUpFunctions
{
    private static int s_runs;
    private static string s_order = string.Empty;

    /// <summary>Counts warm-up runs in this isolate and records the order of the warm-ups.</summary>
    public static void Prepare()
    {
        s_runs++;
        s_order += "prepare;";
    }

    public static async Task PrepareAsync()
    {
        await Task.Yield(); // resumes on the isolate's thread, like any call
        s_order += "async;";
    }

    public static int Runs() => s_runs;

    public static async Task<int> RunsAsync()
    {
        await Task.Yield();
        s_order += "runs-async;";
        return s_runs;
    }

    public static string Order() => s_order;

    public static void Fail() => throw new InvalidOperationException("warm-up failed on purpose");

    /// <summary>Runs until the isolate closes: a warm-up that is still running when its creation is cancelled.</summary>
    public static async Task UntilClosedAsync()
    {
        s_order += "slow;";
        await Task.Delay(Timeout.Infinite, Isolate.Current!.ClosingToken).ContinueWith(static _ => { }, TaskScheduler.Default);
    }
}
