namespace Isolates.Tests.Support;

/// <summary>Functions the cluster pool tests (Runtime.Tests/Orleans) map over silos' isolates.</summary>
public static class ClusterWork
{
    /// <summary>Takes <paramref name="milliseconds"/> (so a map is still running when a test acts on it) and returns it.</summary>
    public static int Sleep(int milliseconds)
    {
        Thread.Sleep(milliseconds);
        return milliseconds;
    }

    /// <summary>Takes <c>item % 100</c> milliseconds and returns the item, so each result names the item it came from.</summary>
    public static int Nap(int item)
    {
        Thread.Sleep(item % 100);
        return item;
    }

    /// <summary>The process the item ran in (the example's self-test sees which silo processes did work).</summary>
    public static int ProcessId(int item) => item >= 0 ? Environment.ProcessId : 0;

    /// <summary>A string of <paramref name="kilobytes"/> KiB (a reply larger than a small Orleans message limit).</summary>
    public static string Big(int kilobytes) => new('x', kilobytes * 1024);

    /// <summary>The length of <paramref name="text"/> (a request item as large as a test wants).</summary>
    public static int Length(string text) => text.Length;
}
