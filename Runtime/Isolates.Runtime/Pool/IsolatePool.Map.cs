using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Isolates.Calls;
using Isolates.Pool;

namespace Isolates;

/// <summary>Parallel map: ordered and as-completed, over lists and async streams.</summary>
public sealed partial class IsolatePool
{
    /// <summary>
    /// Runs <paramref name="function"/> on every item, in parallel across the pool's isolates, and returns the results
    /// in input order. Items travel in chunks sized from the measured time per item, idle isolates steal queued chunks,
    /// and the first item that fails stops the rest.
    /// </summary>
    /// <typeparam name="T">The input type; must be shareable.</typeparam>
    /// <typeparam name="TResult">The result type; must be shareable.</typeparam>
    /// <param name="items">The inputs. A list is used as it is; any other sequence is copied into an array first.</param>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="cancellationToken">Stops the map: no new chunk starts, running chunks stop between items.</param>
    /// <returns>The results, in the order of <paramref name="items"/>.</returns>
    /// <exception cref="IsolateExecutionException">An item's function threw; <see cref="IsolateExecutionException.ItemIndex"/> says which.</exception>
    /// <exception cref="IsolateClosedException">An isolate faulted while running items (they are named in the message); the pool replaces it.</exception>
    /// <exception cref="NotShareableException">The function or a type cannot cross into an isolate.</exception>
    /// <exception cref="ObjectDisposedException">The pool is disposed or being disposed (thrown at once).</exception>
    /// <exception cref="IsolatePoolClosedException">
    /// The pool was disposed while the map ran and its <see cref="IsolatePoolOptions.DisposeTimeout"/> elapsed first;
    /// the message and <see cref="IsolatePoolClosedException.ItemsFinished"/> say how many items finished of how many.
    /// A map never returns results it did not finish. Every overload (and <c>MapUnorderedAsync</c>, from its
    /// enumeration) behaves the same way.
    /// </exception>
    public Task<IReadOnlyList<TResult>> MapAsync<T, TResult>(IEnumerable<T> items, Func<T, TResult> function, CancellationToken cancellationToken = default) =>
        MapListAsync<T, TResult>(items, function, ResultShape.Value, cancellationToken);

    /// <summary>The same as <see cref="MapAsync{T, TResult}(IEnumerable{T}, Func{T, TResult}, CancellationToken)"/> for an async function; each isolate awaits its items one at a time.</summary>
    /// <typeparam name="T">The input type; must be shareable.</typeparam>
    /// <typeparam name="TResult">The result type; must be shareable.</typeparam>
    /// <param name="items">The inputs.</param>
    /// <param name="function">A static async method or a lambda that captures nothing.</param>
    /// <param name="cancellationToken">Stops the map.</param>
    /// <returns>The results, in input order.</returns>
    public Task<IReadOnlyList<TResult>> MapAsync<T, TResult>(IEnumerable<T> items, Func<T, Task<TResult>> function, CancellationToken cancellationToken = default) =>
        MapListAsync<T, TResult>(items, function, ResultShape.TaskOfT, cancellationToken);

    /// <summary>
    /// Maps an async stream in parallel and returns the results in input order. At most
    /// <see cref="IsolatePoolOptions.MaxQueuedItems"/> items are read ahead of the isolates (backpressure).
    /// </summary>
    /// <typeparam name="T">The input type; must be shareable.</typeparam>
    /// <typeparam name="TResult">The result type; must be shareable.</typeparam>
    /// <param name="items">The inputs.</param>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="cancellationToken">
    /// Stops the map and the reading of the stream. The map ends at once even if the stream ignores the token: a read
    /// it has pending is left to finish, and the stream is disposed when it does.
    /// </param>
    /// <returns>The results, in input order.</returns>
    public Task<IReadOnlyList<TResult>> MapAsync<T, TResult>(IAsyncEnumerable<T> items, Func<T, TResult> function, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(function);
        return MapStreamOrderedAsync(items, function, cancellationToken);
    }

    private async Task<IReadOnlyList<TResult>> MapStreamOrderedAsync<T, TResult>(IAsyncEnumerable<T> items, Func<T, TResult> function, CancellationToken cancellationToken)
    {
        var results = new List<TResult>();
        var gate = new Lock();
        await RunStreamAsync<T, TResult>(items, function, ResultShape.Value, (chunk, buffer, offset) =>
        {
            lock (gate)
            {
                long end = chunk.FirstIndex + chunk.Count;
                while (results.Count < end)
                {
                    results.Add(default!);
                }

                for (int i = 0; i < chunk.Count; i++)
                {
                    results[(int)chunk.FirstIndex + i] = buffer[offset + i];
                }
            }
        }, ordered: true, window: null, cancellationToken).ConfigureAwait(false);
        return results;
    }

    /// <summary>
    /// Runs <paramref name="function"/> on every item in parallel and yields each result as soon as its chunk is done,
    /// not in input order. Stopping the enumeration early cancels the remaining work.
    /// </summary>
    /// <typeparam name="T">The input type; must be shareable.</typeparam>
    /// <typeparam name="TResult">The result type; must be shareable.</typeparam>
    /// <param name="items">The inputs.</param>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="cancellationToken">Stops the map.</param>
    /// <returns>The results, as they complete.</returns>
    public IAsyncEnumerable<TResult> MapUnorderedAsync<T, TResult>(IEnumerable<T> items, Func<T, TResult> function, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(function);
        return MapUnorderedCoreAsync<T, TResult>(() => new ChunkSource<T>.FromList(Materialize(items)), function, ResultShape.Value, cancellationToken);
    }

    /// <summary>The same as <see cref="MapUnorderedAsync{T, TResult}(IEnumerable{T}, Func{T, TResult}, CancellationToken)"/> for an async function.</summary>
    /// <typeparam name="T">The input type; must be shareable.</typeparam>
    /// <typeparam name="TResult">The result type; must be shareable.</typeparam>
    /// <param name="items">The inputs.</param>
    /// <param name="function">A static async method or a lambda that captures nothing.</param>
    /// <param name="cancellationToken">Stops the map.</param>
    /// <returns>The results, as they complete.</returns>
    public IAsyncEnumerable<TResult> MapUnorderedAsync<T, TResult>(IEnumerable<T> items, Func<T, Task<TResult>> function, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(function);
        return MapUnorderedCoreAsync<T, TResult>(() => new ChunkSource<T>.FromList(Materialize(items)), function, ResultShape.TaskOfT, cancellationToken);
    }

    /// <summary>
    /// Maps an async stream in parallel, yielding results as they complete, and reads the stream at the consumer's
    /// pace: at most <see cref="IsolatePoolOptions.MaxQueuedItems"/> items wait for an isolate, and no new chunk is
    /// taken while <see cref="IsolatePoolOptions.MaxQueuedItems"/> results wait for the consumer. So at most
    /// 2 × <see cref="IsolatePoolOptions.MaxQueuedItems"/> items plus two chunks per isolate are read beyond those the
    /// consumer has taken (3 × <see cref="IsolatePoolOptions.MaxQueuedItems"/> with automatic chunk sizes, when it is at
    /// least twice the pool's size). Once the pool is being disposed, results are no longer held back for the consumer.
    /// </summary>
    /// <typeparam name="T">The input type; must be shareable.</typeparam>
    /// <typeparam name="TResult">The result type; must be shareable.</typeparam>
    /// <param name="items">The inputs.</param>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="cancellationToken">
    /// Stops the map and the reading of the stream. The enumeration ends at once even if the stream ignores the token:
    /// a read it has pending is left to finish, and the stream is disposed when it does.
    /// </param>
    /// <returns>The results, as they complete.</returns>
    public IAsyncEnumerable<TResult> MapUnorderedAsync<T, TResult>(IAsyncEnumerable<T> items, Func<T, TResult> function, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(function);
        return MapUnorderedCoreAsync<T, TResult>(null, function, ResultShape.Value, cancellationToken, items);
    }

    private Task<IReadOnlyList<TResult>> MapListAsync<T, TResult>(IEnumerable<T> items, Delegate function, ResultShape shape, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(function);
        BeginOperation();
        return RunListAsync<T, TResult>(items, function, shape, cancellationToken);
    }

    private async Task<IReadOnlyList<TResult>> RunListAsync<T, TResult>(IEnumerable<T> items, Delegate function, ResultShape shape, CancellationToken cancellationToken)
    {
        try
        {
            IReadOnlyList<T> list = Materialize(items);
            var results = new TResult[list.Count];
            if (list.Count == 0)
            {
                return results;
            }

            CallPlan plan = PlanFor<T>(function, shape);
            MapRun<T, TResult> run = NewRun<T, TResult>(plan, new ChunkSource<T>.FromList(list), chunk => (results, chunk.Start), static (_, _, _) => { }, cancellationToken);
            await run.RunAsync().ConfigureAwait(false);
            EnsureFinished(run.Finished, list.Count, readToEnd: true, ordered: true); // unfinished slots hold default values: never return them
            return results;
        }
        finally
        {
            EndOperation();
        }
    }

    private async Task RunStreamAsync<T, TResult>(IAsyncEnumerable<T> items, Delegate function, ResultShape shape, Action<Chunk<T>, TResult[], int> deliver, bool ordered, ResultWindow? window, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(function);
        BeginOperation();
        try
        {
            CallPlan plan = PlanFor<T>(function, shape);
            using var reading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var source = new ChunkSource<T>.FromAsyncEnumerable(items, _options.MaxQueuedItems, reading.Token);
            MapRun<T, TResult> run = NewRun<T, TResult>(plan, source, static chunk => (new TResult[chunk.Count], 0), deliver, cancellationToken, window);
            bool readToEnd;
            try
            {
                await run.RunAsync().ConfigureAwait(false);
            }
            finally
            {
                await reading.CancelAsync().ConfigureAwait(false); // stop reading if the map ended early
                try
                {
                    // The reader stops at once even if the source ignores its token (its pending move is left to
                    // finish on its own, ChunkSource.FromAsyncEnumerable). What can still hold it is the source's own
                    // disposal: once the pool cuts work short, that must not keep the map pending either; it fails
                    // below as not read to its end.
                    await source.Reading.WaitAsync(_abort.Token).ConfigureAwait(false);
                    readToEnd = true;
                }
                catch (OperationCanceledException) when (reading.IsCancellationRequested)
                {
                    readToEnd = false; // stopped on purpose, or given up on when the pool closed its isolates
                    _ = source.Reading.ContinueWith( // given up on: its failure, if it comes, is observed
                        static t => _ = t.Exception,
                        CancellationToken.None,
                        TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
                        TaskScheduler.Default);
                }
            }

            // The reader has stopped, so the count of items read is final.
            EnsureFinished(run.Finished, source.ItemsRead, readToEnd, ordered);
        }
        finally
        {
            EndOperation();
        }
    }

    private async IAsyncEnumerable<TResult> MapUnorderedCoreAsync<T, TResult>(
        Func<ChunkSource<T>>? listSource,
        Delegate function,
        ResultShape shape,
        [EnumeratorCancellation] CancellationToken cancellationToken,
        IAsyncEnumerable<T>? stream = null)
    {
        ArgumentNullException.ThrowIfNull(function);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var output = Channel.CreateUnbounded<TResult>(new UnboundedChannelOptions { SingleReader = true });

        // A stream is read at the consumer's pace: the drivers take no new chunk while MaxQueuedItems results wait
        // for it (a list is in memory already, and its map never waits for the consumer). Not once the pool is
        // disposing: the dispose waits for this map, so the map must not wait for a consumer that may be the one
        // disposing.
        ResultWindow? window = stream is null ? null : new ResultWindow(_options.MaxQueuedItems);
        using CancellationTokenRegistration disposing = window is null
            ? default
            : _closing.Token.Register(static w => ((ResultWindow)w!).Open(), window);
        void Deliver(Chunk<T> chunk, TResult[] buffer, int offset)
        {
            window?.Delivered(chunk.Count); // counted before they can be taken
            for (int i = 0; i < chunk.Count; i++)
            {
                output.Writer.TryWrite(buffer[offset + i]);
            }
        }

        Task running = stream is not null
            ? RunStreamAsync<T, TResult>(stream, function, shape, Deliver, ordered: false, window, stop.Token)
            : RunListUnorderedAsync<T, TResult>(listSource!(), function, shape, Deliver, stop.Token);
        _ = running.ContinueWith(
            t => output.Writer.TryComplete(t.Exception?.InnerException ?? (t.IsCanceled ? new OperationCanceledException(cancellationToken) : null)),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);

        try
        {
            await foreach (TResult result in output.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
            {
                window?.Taken();
                yield return result;
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false); // the consumer stopped early, or everything is done
            try
            {
                await running.ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                // cancelled because the consumer stopped enumerating
            }
        }
    }

    private async Task RunListUnorderedAsync<T, TResult>(ChunkSource<T> source, Delegate function, ResultShape shape, Action<Chunk<T>, TResult[], int> deliver, CancellationToken cancellationToken)
    {
        BeginOperation();
        try
        {
            CallPlan plan = PlanFor<T>(function, shape);
            MapRun<T, TResult> run = NewRun<T, TResult>(plan, source, static chunk => (new TResult[chunk.Count], 0), deliver, cancellationToken);
            await run.RunAsync().ConfigureAwait(false);
            EnsureFinished(run.Finished, source.Total!.Value, readToEnd: true, ordered: false); // the enumeration must throw, not end as if complete
        }
        finally
        {
            EndOperation();
        }
    }

    /// <summary>
    /// A map over this pool's isolates with the pool's chunking options, stopped by the caller or when the pool closes
    /// its isolates (not when a dispose starts: the dispose waits for the map, up to DisposeTimeout).
    /// </summary>
    private MapRun<T, TResult> NewRun<T, TResult>(
        CallPlan plan,
        ChunkSource<T> source,
        Func<Chunk<T>, (TResult[] Buffer, int Offset)> buffer,
        Action<Chunk<T>, TResult[], int> deliver,
        CancellationToken cancellationToken,
        ResultWindow? window = null) =>
        new(_workers, plan, source, buffer, deliver, _options.ChunkSize, _options.MaxQueuedItems, cancellationToken, _abort.Token, window);

    private static CallPlan PlanFor<T>(Delegate function, ResultShape shape)
    {
        CallPlan plan = CallPlan.Get(function, shape);
        if (plan.HasTokenParameter || plan.ArgumentCodecs.Length != 1)
        {
            throw new NotShareableException(typeof(T), string.Empty, $"{plan.DisplayName} must take exactly one argument (the item) to be mapped.");
        }

        return plan;
    }

    private static IReadOnlyList<T> Materialize<T>(IEnumerable<T> items) => items as IReadOnlyList<T> ?? [.. items];
}
