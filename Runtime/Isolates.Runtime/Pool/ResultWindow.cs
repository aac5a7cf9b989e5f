namespace Isolates.Pool;

/// <summary>
/// Bounds the results an unordered map over a stream holds for a slow consumer: its drivers take no new chunk while
/// <c>capacity</c> results wait to be taken, so the stream is read at the consumer's pace. Lock-free: a driver
/// publishes its wait before it looks at the count again, the consumer looks for a wait after it takes a result.
/// </summary>
internal sealed class ResultWindow(int capacity)
{
    private long _waiting; // delivered and not yet taken by the consumer
    private TaskCompletionSource? _space;
    private int _open; // 1 once the window no longer bounds; set with a full fence, like the count, before looking for a wait

    /// <summary>Whether a driver may take a chunk now.</summary>
    public bool HasRoom => !IsFull;

    private bool IsFull => Volatile.Read(ref _open) == 0 && Volatile.Read(ref _waiting) >= capacity;

    /// <summary>Results of a chunk are about to be handed to the consumer.</summary>
    public void Delivered(int count) => Interlocked.Add(ref _waiting, count);

    /// <summary>The consumer took a result.</summary>
    public void Taken()
    {
        if (Interlocked.Decrement(ref _waiting) < capacity)
        {
            Release();
        }
    }

    /// <summary>Stops bounding: the pool is disposing and waits for this map, which must not wait for its consumer in turn.</summary>
    public void Open()
    {
        _ = Interlocked.Exchange(ref _open, 1);
        Release();
    }

    /// <summary>Completes when fewer than <c>capacity</c> results wait for the consumer (at once, usually).</summary>
    public async ValueTask WaitForRoomAsync(CancellationToken cancellationToken)
    {
        while (IsFull)
        {
            TaskCompletionSource? space = Volatile.Read(ref _space);
            if (space is null)
            {
                var fresh = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _ = Interlocked.CompareExchange(ref _space, fresh, null);
                continue; // published: the count is read again, so a result taken meanwhile is not missed
            }

            await space.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private void Release()
    {
        if (Volatile.Read(ref _space) is { } space && Interlocked.CompareExchange(ref _space, null, space) == space)
        {
            space.TrySetResult();
        }
    }
}
