namespace Isolates.Channels;

/// <summary>
/// A token that can be cancelled but never is. System.Threading.Channels reuses one waiter object per channel for
/// waits with an uncancellable token, and that object keeps the last waiter's continuation (an isolate's state
/// machine) reachable from the channel after the wait is over, which would keep a closed isolate in memory for as
/// long as the channel lives. Passing this token instead makes every wait allocate its own waiter.
/// </summary>
internal static class NeverCancelled
{
    private static readonly CancellationTokenSource Source = new();

    public static CancellationToken Token => Source.Token;

    public static CancellationToken Or(CancellationToken token) => token.CanBeCanceled ? token : Source.Token;
}
