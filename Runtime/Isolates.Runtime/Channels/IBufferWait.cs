namespace Isolates.Channels;

/// <summary>A reading end's wait on its buffer with a token already resolved by the runtime (no further linking).</summary>
internal interface IBufferWait
{
    /// <summary>The buffer's <c>WaitToReadAsync</c> with exactly <paramref name="cancellationToken"/>.</summary>
    ValueTask<bool> WaitToReadAsIsAsync(CancellationToken cancellationToken);
}
