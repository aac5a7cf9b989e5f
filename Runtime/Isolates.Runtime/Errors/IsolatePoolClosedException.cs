namespace Isolates;

/// <summary>
/// Thrown when work on an <see cref="IsolatePool"/> was cut short because the pool was disposed: its
/// <see cref="IsolatePoolOptions.DisposeTimeout"/> elapsed before a map or a submitted call finished, and the pool
/// closed its isolates under it. Work cut short never completes successfully: a map that fails this way returns no
/// results (an unordered map has yielded exactly <see cref="ItemsFinished"/> results before throwing), and no
/// unfinished item is reported as done or given a default value.
/// </summary>
public sealed class IsolatePoolClosedException : IsolateException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="poolName">The name of the pool that was disposed.</param>
    /// <param name="itemsFinished">How many items finished (their results were delivered) before the work was cut short.</param>
    /// <param name="itemsTotal">How many items the work had: the input's count, or for an async stream the items read from it.</param>
    /// <param name="message">What was cut short and why.</param>
    /// <param name="innerException">The failure the work met when the pool closed its isolates, if any.</param>
    public IsolatePoolClosedException(string poolName, long itemsFinished, long itemsTotal, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        PoolName = poolName ?? string.Empty;
        ItemsFinished = itemsFinished;
        ItemsTotal = itemsTotal;
    }

    /// <summary>The name of the pool that was disposed.</summary>
    public string PoolName { get; }

    /// <summary>How many items finished before the work was cut short (for a submitted call: 0).</summary>
    public long ItemsFinished { get; }

    /// <summary>
    /// How many items the work had (for a submitted call: 1). For a map over an <see cref="IAsyncEnumerable{T}"/>
    /// that was not read to its end, the items read from it; the rest were never taken.
    /// </summary>
    public long ItemsTotal { get; }

    /// <summary>How many items did not finish: <see cref="ItemsTotal"/> minus <see cref="ItemsFinished"/>.</summary>
    public long ItemsNotFinished => ItemsTotal - ItemsFinished;
}
