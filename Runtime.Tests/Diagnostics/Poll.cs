namespace Isolates.Tests.Diagnostics;

/// <summary>Waits, within a bound, for a figure that the runtime updates asynchronously (sampled, or recorded just after a task completes).</summary>
internal static class Poll
{
    public static async Task Until(Func<bool> condition, string? what = null)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
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
