namespace Isolates.Tests;

/// <summary>Helpers shared by tests: a bounded wait so that a deadlock fails the test instead of hanging CI.</summary>
internal static class Wait
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    public static Task<T> Bounded<T>(Task<T> task) => task.WaitAsync(Timeout);

    public static Task Bounded(Task task) => task.WaitAsync(Timeout);
}
