namespace Isolates.Channels;

/// <summary>
/// The token a channel end passes to the buffer when its caller passed none that can be cancelled. On an isolate's
/// thread it is the isolate's <see cref="Isolate.ClosingToken"/>: a wait left pending when the isolate closes (a write
/// blocked on a full channel, say) is then cancelled, so the channel neither keeps the closed isolate's code alive
/// through the waiter's continuation nor puts in, later, an item whose writer is gone. Elsewhere it is a token that can
/// be cancelled but never is: System.Threading.Channels reuses one waiter object per channel for uncancellable waits,
/// and that object keeps the last waiter's continuation reachable after the wait is over.
/// </summary>
internal static class WaitToken
{
    private static readonly CancellationTokenSource Source = new();

    /// <summary>The token that can be cancelled but never is.</summary>
    public static CancellationToken Never => Source.Token;

    /// <summary>The caller's token if it can be cancelled; else the isolate's closing token, or <see cref="Never"/> outside isolates.</summary>
    public static CancellationToken For(CancellationToken token) =>
        token.CanBeCanceled ? token : Isolate.OnThisThread is { } isolate ? isolate.ClosingToken : Never;

    /// <summary>
    /// On an isolate's thread, when the caller gave a token that can be cancelled: that token linked with the isolate's
    /// closing token, for a wait that may stay pending (dispose it when the wait ends). A token the isolate made itself
    /// and never cancels would otherwise leave the wait on the channel when the isolate closes, and the waiter's
    /// continuation would keep the closed isolate's code alive (UnloadStatus.Leaked). Null when no link is needed.
    /// </summary>
    public static CancellationTokenSource? LinkWithClosing(CancellationToken token) =>
        token.CanBeCanceled && Isolate.OnThisThread is { } isolate ? CancellationTokenSource.CreateLinkedTokenSource(token, isolate.ClosingToken) : null;

    /// <summary>Whether a wait with this token must be linked with the closing token: a caller's own live token, on an isolate's thread.</summary>
    public static bool NeedsLink(CancellationToken token) =>
        token.CanBeCanceled && !token.IsCancellationRequested && Isolate.OnThisThread is { } isolate && token != isolate.ClosingToken;

    /// <summary>
    /// Runs <paramref name="wait"/> with <paramref name="caller"/> linked with the isolate's closing token (see
    /// <see cref="LinkWithClosing"/>); a cancellation by the caller's own token is reported with that token, as the
    /// framework's waits report it.
    /// </summary>
    public static async ValueTask<bool> LinkedWaitAsync<TState>(CancellationToken caller, TState state, Func<TState, CancellationToken, ValueTask<bool>> wait)
    {
        using CancellationTokenSource linked = LinkWithClosing(caller)!;
        try
        {
            return await wait(state, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (caller.IsCancellationRequested)
        {
            throw new OperationCanceledException(caller);
        }
    }

    /// <summary>What a cancelled linked wait reports: the caller's own token when that is the one that fired.</summary>
    public static Exception ForCaller(Exception error, CancellationToken caller, bool linked) =>
        error is OperationCanceledException && linked && caller.IsCancellationRequested ? new OperationCanceledException(caller) : error;
}
