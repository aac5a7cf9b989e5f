namespace Isolates.Channels;

/// <summary>
/// A <see cref="DeferredTake{TResult}"/> of one reader whose wait also ends when the calling isolate closes, whatever
/// token the caller gave (resolved at construction, on the caller's thread): a token of the caller's own that never
/// fires would leave the wait on the channel, and the channel would keep the closed isolate's code alive through it.
/// A cancellation by the caller's own token is reported with that token, as the framework's reads report it.
/// </summary>
/// <typeparam name="TResult">What the awaiting code receives.</typeparam>
internal abstract class LinkedTake<TResult> : DeferredTake<TResult>
{
    private readonly CancellationToken _caller;
    private readonly CancellationTokenSource? _linked;

    protected LinkedTake(CancellationToken caller)
    {
        _caller = caller;
        _linked = WaitToken.LinkWithClosing(caller);
        Token = _linked?.Token ?? WaitToken.For(caller);
    }

    /// <summary>The token the waits use.</summary>
    protected CancellationToken Token { get; }

    protected override Exception Translate(Exception error) => WaitToken.ForCaller(error, _caller, _linked is not null);

    protected override void Release() => _linked?.Dispose();
}
