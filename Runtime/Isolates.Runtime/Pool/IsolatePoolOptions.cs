namespace Isolates;

/// <summary>How an <see cref="IsolatePool"/> is created and how it spreads work. The defaults suit CPU-bound work.</summary>
public sealed record IsolatePoolOptions
{
    /// <summary>How many isolates the pool keeps. 0 (the default) means <see cref="Environment.ProcessorCount"/>.</summary>
    public int Size { get; init; }

    /// <summary>A name for the pool; its isolates are named <c>{Name}-{n}</c>. Defaults to <c>pool</c>.</summary>
    public string? Name { get; init; }

    /// <summary>
    /// Options for each isolate of the pool (its <see cref="IsolateOptions.Name"/> is replaced by the pool's naming).
    /// Long-lived pool workers may prefer <see cref="IsolateOptions.Collectible"/> false: faster code, no unloading.
    /// </summary>
    public IsolateOptions? IsolateOptions { get; init; }

    /// <summary>
    /// A static method run once inside each isolate when it starts (and when a faulted isolate is replaced), before
    /// it gets any work: warm caches, load a model. Its static state stays for every later call in that isolate.
    /// </summary>
    public Action? Initializer { get; init; }

    /// <summary>The async form of <see cref="Initializer"/>; both may be set (the synchronous one runs first).</summary>
    public Func<Task>? AsyncInitializer { get; init; }

    /// <summary>
    /// How many items taken from an <see cref="IAsyncEnumerable{T}"/> source may wait for an isolate at once (the source
    /// is not read further until there is room), and, for <c>MapUnorderedAsync</c> over such a source, how many results
    /// may wait for the consumer before the isolates stop taking chunks (not while the pool is being disposed). Default 1024.
    /// </summary>
    public int MaxQueuedItems { get; init; } = 1024;

    /// <summary>
    /// How many items one trip into an isolate carries. 0 (the default) chooses it automatically from the measured
    /// time per item, so that tiny items are not dominated by the cost of crossing and large ones still spread evenly.
    /// </summary>
    public int ChunkSize { get; init; }

    /// <summary>
    /// How long <see cref="IsolatePool.DisposeAsync"/> waits for the maps and submitted calls already running to finish
    /// before it cuts them short (they fail with <see cref="IsolatePoolClosedException"/>, saying how many items
    /// finished) and closes the isolates. Default 30 s; zero cuts running work short at once,
    /// <see cref="Timeout.InfiniteTimeSpan"/> waits as long as the work takes.
    /// </summary>
    public TimeSpan DisposeTimeout { get; init; } = TimeSpan.FromSeconds(30);

    internal void Validate()
    {
        if (Size < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Size), Size, "IsolatePoolOptions.Size must be positive, or 0 for one isolate per processor.");
        }

        if (MaxQueuedItems < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxQueuedItems), MaxQueuedItems, "IsolatePoolOptions.MaxQueuedItems must be at least 1.");
        }

        if (ChunkSize < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ChunkSize), ChunkSize, "IsolatePoolOptions.ChunkSize must be positive, or 0 to choose automatically.");
        }

        if (DisposeTimeout < TimeSpan.Zero && DisposeTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(DisposeTimeout), DisposeTimeout, "IsolatePoolOptions.DisposeTimeout must be zero or positive (or Timeout.InfiniteTimeSpan).");
        }

        if (Name is { Length: 0 })
        {
            throw new ArgumentException("IsolatePoolOptions.Name must not be empty; leave it null for the default.", nameof(Name));
        }

        IsolateOptions?.Validate();
    }
}
