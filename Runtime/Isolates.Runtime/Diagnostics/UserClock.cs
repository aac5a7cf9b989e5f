namespace Isolates.Diagnostics;

/// <summary>
/// Timeouts measured by a user's <see cref="TimeProvider"/> (<see cref="IsolateOptions.TimeProvider"/>), which is user
/// code: a clock that cannot create a timer must not make a close fail (CloseAsync never faults), so the wait falls
/// back to the system clock.
/// </summary>
internal static class UserClock
{
    public static Task WaitAsync(Task task, TimeSpan timeout, TimeProvider clock)
    {
        try
        {
            return task.WaitAsync(timeout, clock);
        }
        catch (Exception ex) when (ex is not ArgumentOutOfRangeException && !ReferenceEquals(clock, TimeProvider.System))
        {
            return task.WaitAsync(timeout, TimeProvider.System);
        }
    }
}
