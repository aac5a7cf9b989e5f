namespace Isolates.Tests.Diagnostics;

/// <summary>Waits, within a bound, for a figure that the runtime updates asynchronously (sampled, or recorded just after a task completes).</summary>
internal static class Poll
{
    /// <summary>Polls <paramref name="condition"/> until it holds; fails after <paramref name="timeout"/> (default <see cref="Wait.Timeout"/>, generous for a loaded 2-core CI machine).</summary>
    public static async Task Until(Func<bool> condition, string? what = null, TimeSpan? timeout = null)
    {
        DateTime deadline = DateTime.UtcNow + (timeout ?? Wait.Timeout);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail("timed out waiting for " + (what ?? "the condition"));
            }

            await Task.Delay(10);
        }
    }
}
