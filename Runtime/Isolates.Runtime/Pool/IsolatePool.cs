using System.Diagnostics;
using Isolates.Diagnostics;
using Isolates.Pool;
using Microsoft.Extensions.Logging;
using static System.FormattableString;

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
    private readonly CancellationTokenSource _closing = new(); // refuses new work: cancelled as soon as disposal starts
    private readonly CancellationTokenSource _abort = new(); // cuts running work short: cancelled when the isolates are about to close
    private PoolWorker[] _workers = [];
    private int _activeOperations;
    private TaskCompletionSource? _idle;
    private Task? _closeTask;
    private int _replacements;
    private int _awaitingReplacement;

    private readonly Action<Isolate>? _started; // told of every isolate the pool starts (the host checks each one unloads)

    private IsolatePool(IsolatePoolOptions options, Action<Isolate>? started)
    {
        _options = options;
        _started = started;
        Name = options.Name ?? "pool";
        Logger = SafeLogger.Create(options.IsolateOptions?.LoggerFactory, "Isolates.IsolatePool");
    }

    /// <summary>The pool's name, used to name its isolates.</summary>
    public string Name { get; }

    /// <summary>How many isolates the pool runs.</summary>
    public int Size => _workers.Length;

    /// <summary>The isolates currently serving the pool (a snapshot; a faulted one being replaced is left out).</summary>
    public IReadOnlyList<Isolate> Isolates =>
        [.. _workers.Select(w => w.CurrentIfReady).OfType<Isolate>().Where(i => i.State is IsolateState.Running or IsolateState.Starting)];

    /// <summary>How many isolates the pool has replaced so far: faulted ones, and ones closed by code other than the pool.</summary>
    public int Replacements => Volatile.Read(ref _replacements);

    /// <summary>
    /// How many slots have no running isolate right now: their isolate faulted or was closed by other code, and its
    /// replacement is starting or, after a failed start (an initializer that threw), waiting to try again. Each failed
    /// start is logged (event 23, PoolReplacementFailed, with the exception) and retried after 0.1 s, doubling up to 30 s.
    /// Meanwhile <c>SubmitAsync</c> goes to a slot that has a running isolate (if all are waiting, it waits for the
    /// first replacement, bounded by its token and the pool's dispose), and a map runs on the slots that have one.
    /// </summary>
    public int SlotsAwaitingReplacement => Volatile.Read(ref _awaitingReplacement);

    /// <summary>The options the pool was created with.</summary>
    public IsolatePoolOptions Options => _options;

    internal ILogger Logger { get; }

    /// <summary>The clock for the replacement backoff: the isolates' <see cref="IsolateOptions.TimeProvider"/>, if set.</summary>
    internal TimeProvider TimeProvider => _options.IsolateOptions?.TimeProvider ?? TimeProvider.System;

    /// <summary>Whether the pool is closing its isolates: running work is being cut short and nothing is replaced any more.</summary>
    internal bool IsAborting => _abort.IsCancellationRequested;

    /// <summary>Cancelled when the pool closes its isolates (after running work finished or <see cref="IsolatePoolOptions.DisposeTimeout"/> elapsed).</summary>
    internal CancellationToken AbortToken => _abort.Token;

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
    public static Task<IsolatePool> CreateAsync(IsolatePoolOptions options, CancellationToken cancellationToken = default) =>
        CreateAsync(options, null, cancellationToken);

    /// <summary>
    /// Creates a pool that tells <paramref name="started"/> of every isolate it starts, before the isolate runs any
    /// code (the initial ones, every replacement, and every failed attempt at one), so an owner such as the host can
    /// account for every isolate the pool ever ran, not just the ones serving it when it closes.
    /// </summary>
    internal static async Task<IsolatePool> CreateAsync(IsolatePoolOptions options, Action<Isolate>? started, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var pool = new IsolatePool(options, started);
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
    /// Disposes the pool in three steps. First it refuses new work at once: a map or a submit started from now on
    /// throws <see cref="ObjectDisposedException"/>. Then it waits for the maps and submitted calls already running to
    /// finish, up to <see cref="IsolatePoolOptions.DisposeTimeout"/>; they run to the end as usual, so a map that
    /// finishes in time returns every result. Finally it closes every isolate (a faulted one's replacement included).
    /// Work still running when the timeout elapses is cut short and fails with <see cref="IsolatePoolClosedException"/>,
    /// which says how many items finished of how many; it never completes successfully, and no unfinished item is
    /// given a default value (an unordered map throws from its enumeration after yielding the finished items).
    /// </summary>
    /// <remarks>
    /// Calling it from inside a map's continuation or from the body of a <c>MapUnorderedAsync</c> loop is safe:
    /// the map does not wait for its consumer, so it finishes (or the timeout elapses) and the dispose completes.
    /// </remarks>
    /// <returns>A task that completes when every isolate of the pool has closed.</returns>
    public ValueTask DisposeAsync() => new(CloseAsync());

    /// <summary>The same as <see cref="DisposeAsync"/>; safe to call more than once and concurrently (every call waits for the same close).</summary>
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
            _started?.Invoke(isolate);
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

    internal void CountAwaitingReplacement(int change) => Interlocked.Add(ref _awaitingReplacement, change);

    /// <summary>
    /// Logs on a rare path (a fault, a dispose). A logger that throws cannot break a replacement or a dispose:
    /// <see cref="Logger"/> comes from <see cref="SafeLogger"/>, the one logging rule.
    /// </summary>
    internal void TryLog(Action<ILogger> write) => write(Logger);

    /// <summary>Marks the start of a pool operation (a dispose waits for it to end); fails if the pool is closing.</summary>
    private void BeginOperation()
    {
        Interlocked.Increment(ref _activeOperations);
        if (_closing.IsCancellationRequested)
        {
            EndOperation();
            throw new ObjectDisposedException(nameof(IsolatePool), $"Isolate pool '{Name}' is disposed (or being disposed) and takes no new work; create a new pool.");
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
        await _closing.CancelAsync().ConfigureAwait(false); // from here BeginOperation refuses new work
        Interleave.Point("pool.close.cancelled");
        if (Volatile.Read(ref _activeOperations) == 0)
        {
            idle.TrySetResult();
        }

        try
        {
            // Running maps and calls are not stopped: they finish normally, which is what the caller waits for.
            await idle.Task.WaitAsync(_options.DisposeTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Cut short below; each piece of running work then fails with IsolatePoolClosedException.
            int running = Math.Max(Volatile.Read(ref _activeOperations), 0);
            TryLog(logger => Log.PoolDisposeTimedOut(logger, Name, _options.DisposeTimeout, running));
        }

        // Maps stop taking chunks and cancel the ones queued, a replacement still starting is cancelled, and no
        // faulted isolate is replaced any more; only then do the isolates close, so nothing starts on a closing one.
        await _abort.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_workers.Select(static w => w.CloseAsync())).ConfigureAwait(false);
    }

    /// <summary>
    /// Checks that a map that ended without failure or cancellation delivered every item, and otherwise fails it:
    /// a map cut short must never look like a map that finished.
    /// </summary>
    /// <param name="finished">Items whose results were delivered.</param>
    /// <param name="total">Items taken in: the list's count, or the items read from a stream.</param>
    /// <param name="readToEnd">Whether the input was read to its end (always true for a list).</param>
    /// <param name="ordered">Whether the map returns a list (which it now will not) or yields as it goes (it has yielded the finished ones).</param>
    internal void EnsureFinished(long finished, long total, bool readToEnd, bool ordered)
    {
        if (finished == total && readToEnd)
        {
            return;
        }

        Debug.Assert(finished <= total, "more items finished than were taken");
        if (IsAborting)
        {
            long missing = total - finished;
            string counts = readToEnd
                ? Invariant($"{finished:N0} of {total:N0} items finished, {missing:N0} did not")
                : Invariant($"{finished:N0} of {total:N0} items finished, {missing:N0} did not, and the source was not read to its end (only its first {total:N0} items were taken)");
            string results = ordered
                ? "A map cut short returns no results."
                : Invariant($"The enumeration yielded the {finished:N0} finished results before this exception and yields no other.");
            throw new IsolatePoolClosedException(
                Name,
                finished,
                total,
                $"Isolate pool '{Name}' was disposed and its DisposeTimeout ({Describe(_options.DisposeTimeout)}) elapsed before this map finished: {counts}. " +
                $"{results} Wait for running work before disposing the pool, or give IsolatePoolOptions.DisposeTimeout more time.");
        }

        Debug.Fail("a map ended early without a failure, a cancellation or the pool closing");
        throw new InvalidOperationException(Invariant(
            $"Isolate pool '{Name}': a map ended with {finished:N0} of {total:N0} items finished, without a failure or a cancellation. This is a bug in Isolates; please report it."));
    }

    /// <summary>Whether a submitted call's failure is the pool closing its isolates under it.</summary>
    private bool IsCutShort(Exception exception, CancellationToken caller) =>
        IsAborting && (exception is IsolateClosedException || (exception is OperationCanceledException && !caller.IsCancellationRequested));

    private IsolatePoolClosedException SubmitCutShort(Exception exception) => new(
        Name,
        0,
        1,
        $"Isolate pool '{Name}' was disposed and its DisposeTimeout ({Describe(_options.DisposeTimeout)}) elapsed before this call finished; " +
        "the call was cut short when the pool closed its isolates. Wait for running work before disposing the pool, or give IsolatePoolOptions.DisposeTimeout more time.",
        exception);

    private static string Describe(TimeSpan timeout) => Invariant($"{timeout.TotalSeconds:0.###} s");

    /// <summary>
    /// The slot with the least outstanding work among those whose isolate is running; a slot whose isolate ended and
    /// is being replaced is chosen only when every slot is (the call then waits for that replacement).
    /// </summary>
    private PoolWorker LeastBusyWorker()
    {
        PoolWorker? best = null;
        bool bestReady = false;
        foreach (PoolWorker worker in _workers)
        {
            bool ready = worker.IsReady;
            if (best is null || (ready && !bestReady) || (ready == bestReady && worker.Outstanding < best.Outstanding))
            {
                best = worker;
                bestReady = ready;
            }
        }

        return best!;
    }
}
