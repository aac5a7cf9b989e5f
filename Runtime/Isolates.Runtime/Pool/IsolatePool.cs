using Isolates.Diagnostics;
using Isolates.Pool;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Isolates;

/// <summary>
/// A fixed set of isolates that run your functions in parallel: <see cref="MapAsync{T, TResult}(IEnumerable{T}, Func{T, TResult}, CancellationToken)"/>
/// spreads a loop over every core, <see cref="SubmitAsync{TResult}(Func{TResult}, CancellationToken)"/> runs one task
/// on the least busy isolate. Each isolate keeps its own statics for the pool's whole life, so an initializer's work
/// (a loaded model, a warm cache) is done once per isolate and reused; the host's statics are never touched.
/// </summary>
public sealed partial class IsolatePool : IAsyncDisposable
{
    private readonly IsolatePoolOptions _options;
    private readonly CancellationTokenSource _closing = new();
    private PoolWorker[] _workers = [];
    private int _activeOperations;
    private TaskCompletionSource? _idle;
    private Task? _closeTask;
    private int _replacements;

    private IsolatePool(IsolatePoolOptions options)
    {
        _options = options;
        Name = options.Name ?? "pool";
        Logger = options.IsolateOptions?.LoggerFactory?.CreateLogger("Isolates.IsolatePool") ?? NullLogger.Instance;
    }

    /// <summary>The pool's name, used to name its isolates.</summary>
    public string Name { get; }

    /// <summary>How many isolates the pool runs.</summary>
    public int Size => _workers.Length;

    /// <summary>The isolates currently serving the pool (a snapshot; a faulted one being replaced is left out).</summary>
    public IReadOnlyList<Isolate> Isolates =>
        [.. _workers.Select(w => w.CurrentIfReady).OfType<Isolate>().Where(i => i.State is IsolateState.Running or IsolateState.Starting)];

    /// <summary>How many faulted isolates the pool has replaced so far.</summary>
    public int Replacements => Volatile.Read(ref _replacements);

    /// <summary>The options the pool was created with.</summary>
    public IsolatePoolOptions Options => _options;

    internal ILogger Logger { get; }

    internal bool IsClosing => _closing.IsCancellationRequested;

    /// <summary>Creates a pool of <paramref name="size"/> isolates (0: one per processor) with default options.</summary>
    /// <param name="size">How many isolates; 0 means <see cref="Environment.ProcessorCount"/>.</param>
    /// <param name="cancellationToken">Cancels the creation; isolates already made are closed.</param>
    /// <returns>The pool, with every isolate running.</returns>
    public static Task<IsolatePool> CreateAsync(int size = 0, CancellationToken cancellationToken = default) =>
        CreateAsync(new IsolatePoolOptions { Size = size }, cancellationToken);

    /// <summary>Creates a pool and runs the initializer (if any) in every isolate before returning.</summary>
    /// <param name="options">How to create the pool.</param>
    /// <param name="cancellationToken">Cancels the creation; isolates already made are closed.</param>
    /// <returns>The pool, with every isolate running and initialized.</returns>
    /// <exception cref="IsolateExecutionException">The initializer threw in an isolate; the pool is not created.</exception>
    public static async Task<IsolatePool> CreateAsync(IsolatePoolOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var pool = new IsolatePool(options);
        int size = options.Size == 0 ? Environment.ProcessorCount : options.Size;
        Task<Isolate>[] starting = [.. Enumerable.Range(0, size).Select(i => pool.StartIsolateAsync(i, cancellationToken))];
        try
        {
            await Task.WhenAll(starting).ConfigureAwait(false);
        }
        catch
        {
            await Task.WhenAll(starting.Where(t => t.IsCompletedSuccessfully).Select(t => t.Result.CloseAsync())).ConfigureAwait(false);
            throw;
        }

        pool._workers = [.. starting.Select((t, i) => new PoolWorker(pool, i, t.Result))];
        return pool;
    }

    /// <summary>
    /// Waits (up to <see cref="IsolatePoolOptions.DisposeTimeout"/>) for running work to finish, then closes every
    /// isolate. Work still running after the timeout fails with <see cref="IsolateClosedException"/>.
    /// </summary>
    /// <returns>A task that completes when every isolate of the pool has closed.</returns>
    public ValueTask DisposeAsync() => new(CloseAsync());

    /// <summary>The same as <see cref="DisposeAsync"/>; safe to call more than once.</summary>
    /// <returns>A task that completes when every isolate of the pool has closed.</returns>
    public Task CloseAsync()
    {
        Task? existing = Volatile.Read(ref _closeTask);
        if (existing is not null)
        {
            return existing;
        }

        var closing = CloseCoreAsync();
        return Interlocked.CompareExchange(ref _closeTask, closing, null) ?? closing;
    }

    internal async Task<Isolate> StartIsolateAsync(int index, CancellationToken cancellationToken)
    {
        IsolateOptions isolateOptions = (_options.IsolateOptions ?? new IsolateOptions()) with { Name = $"{Name}-{index}" };
        Isolate isolate = await Isolate.CreateAsync(isolateOptions, cancellationToken).ConfigureAwait(false);
        try
        {
            if (_options.Initializer is { } initializer)
            {
                await isolate.CallAsync(initializer, cancellationToken).ConfigureAwait(false);
            }

            if (_options.AsyncInitializer is { } asyncInitializer)
            {
                await isolate.CallAsync(asyncInitializer, cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            await isolate.CloseAsync().ConfigureAwait(false);
            throw;
        }

        return isolate;
    }

    internal void CountReplacement() => Interlocked.Increment(ref _replacements);

    /// <summary>Marks the start of a pool operation; fails if the pool is closing.</summary>
    private void BeginOperation()
    {
        Interlocked.Increment(ref _activeOperations);
        if (_closing.IsCancellationRequested)
        {
            EndOperation();
            throw new ObjectDisposedException(nameof(IsolatePool), $"Isolate pool '{Name}' is closed; create a new pool.");
        }
    }

    private void EndOperation()
    {
        if (Interlocked.Decrement(ref _activeOperations) == 0 && _closing.IsCancellationRequested)
        {
            Volatile.Read(ref _idle)?.TrySetResult();
        }
    }

    private async Task CloseCoreAsync()
    {
        var idle = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _idle, idle);
        await _closing.CancelAsync().ConfigureAwait(false);
        Interleave.Point("pool.close.cancelled");
        if (Volatile.Read(ref _activeOperations) == 0)
        {
            idle.TrySetResult();
        }

        try
        {
            await idle.Task.WaitAsync(_options.DisposeTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Running work is failed by closing the isolates below.
        }

        var closing = new List<Task>();
        foreach (PoolWorker worker in _workers)
        {
            closing.Add(CloseWorkerAsync(worker));
        }

        await Task.WhenAll(closing).ConfigureAwait(false);
    }

    private static async Task CloseWorkerAsync(PoolWorker worker)
    {
        try
        {
            Isolate isolate = await worker.Current.ConfigureAwait(false);
            await isolate.CloseAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IsolateException or OperationCanceledException)
        {
            // A replacement that failed to start has nothing to close.
        }
    }

    private PoolWorker LeastBusyWorker()
    {
        PoolWorker best = _workers[0];
        for (int i = 1; i < _workers.Length; i++)
        {
            if (_workers[i].Outstanding < best.Outstanding)
            {
                best = _workers[i];
            }
        }

        return best;
    }
}
