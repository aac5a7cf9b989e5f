namespace Isolates.Orleans;

/// <summary>
/// The isolate pools of one name on every silo of an Orleans cluster, used like one <see cref="IsolatePool"/>: maps
/// spread their chunks over the silos (each silo spreads its chunk over its own isolates), results come back in input
/// order (<c>MapAsync</c>) or as they complete (<c>MapUnorderedAsync</c>). The function and value rules are the local
/// pool's: a static method or a lambda that captures nothing, shareable values (they travel as the MessagePack bytes
/// Isolates produces), the same exceptions, with <see cref="IsolateExecutionException.ItemIndex"/> the index in the
/// whole input. Get one with <c>GetIsolatePool(name)</c> on an <c>IClusterClient</c> or <c>IGrainFactory</c>; it holds
/// no resources and needs no disposal.
/// </summary>
public interface IClusterIsolatePool
{
    /// <summary>The pool's name, as given to <c>AddIsolatePool</c> on the silos.</summary>
    string Name { get; }

    /// <summary>The options this caller spreads work with.</summary>
    ClusterIsolatePoolOptions Options { get; }

    /// <summary>Runs <paramref name="function"/> on every item across the cluster; the results are in input order.</summary>
    /// <typeparam name="T">The input type; must be shareable.</typeparam>
    /// <typeparam name="TResult">The result type; must be shareable.</typeparam>
    /// <param name="items">The inputs.</param>
    /// <param name="function">A static method or a lambda that captures nothing, taking one item.</param>
    /// <param name="cancellationToken">Stops the map on every silo.</param>
    /// <returns>The results, in input order.</returns>
    /// <exception cref="IsolateExecutionException">An item's function threw; <see cref="IsolateExecutionException.ItemIndex"/> is its input index.</exception>
    /// <exception cref="ClusterSiloLostException">A silo left while running chunks of the map (see <see cref="ClusterIsolatePoolOptions.OnSiloLost"/>).</exception>
    /// <exception cref="ClusterPoolUnavailableException">No silo of the cluster runs a pool of this name.</exception>
    Task<IReadOnlyList<TResult>> MapAsync<T, TResult>(IEnumerable<T> items, Func<T, TResult> function, CancellationToken cancellationToken = default);

    /// <summary>The same as <see cref="MapAsync{T, TResult}(IEnumerable{T}, Func{T, TResult}, CancellationToken)"/> for an async function.</summary>
    /// <typeparam name="T">The input type; must be shareable.</typeparam>
    /// <typeparam name="TResult">The result type; must be shareable.</typeparam>
    /// <param name="items">The inputs.</param>
    /// <param name="function">A static async method or a lambda that captures nothing, taking one item.</param>
    /// <param name="cancellationToken">Stops the map on every silo.</param>
    /// <returns>The results, in input order.</returns>
    Task<IReadOnlyList<TResult>> MapAsync<T, TResult>(IEnumerable<T> items, Func<T, Task<TResult>> function, CancellationToken cancellationToken = default);

    /// <summary>Maps an async stream, reading it only as chunks are sent (backpressure); the results are in input order.</summary>
    /// <typeparam name="T">The input type; must be shareable.</typeparam>
    /// <typeparam name="TResult">The result type; must be shareable.</typeparam>
    /// <param name="items">The inputs.</param>
    /// <param name="function">A static method or a lambda that captures nothing, taking one item.</param>
    /// <param name="cancellationToken">Stops the map on every silo and the reading of the stream.</param>
    /// <returns>The results, in input order.</returns>
    Task<IReadOnlyList<TResult>> MapAsync<T, TResult>(IAsyncEnumerable<T> items, Func<T, TResult> function, CancellationToken cancellationToken = default);

    /// <summary>Runs <paramref name="function"/> on every item across the cluster and yields each result as its chunk completes, not in input order. Stopping the enumeration early cancels the rest.</summary>
    /// <typeparam name="T">The input type; must be shareable.</typeparam>
    /// <typeparam name="TResult">The result type; must be shareable.</typeparam>
    /// <param name="items">The inputs.</param>
    /// <param name="function">A static method or a lambda that captures nothing, taking one item.</param>
    /// <param name="cancellationToken">Stops the map on every silo.</param>
    /// <returns>The results, as they complete.</returns>
    IAsyncEnumerable<TResult> MapUnorderedAsync<T, TResult>(IEnumerable<T> items, Func<T, TResult> function, CancellationToken cancellationToken = default);

    /// <summary>The same as <see cref="MapUnorderedAsync{T, TResult}(IEnumerable{T}, Func{T, TResult}, CancellationToken)"/> for an async function.</summary>
    /// <typeparam name="T">The input type; must be shareable.</typeparam>
    /// <typeparam name="TResult">The result type; must be shareable.</typeparam>
    /// <param name="items">The inputs.</param>
    /// <param name="function">A static async method or a lambda that captures nothing, taking one item.</param>
    /// <param name="cancellationToken">Stops the map on every silo.</param>
    /// <returns>The results, as they complete.</returns>
    IAsyncEnumerable<TResult> MapUnorderedAsync<T, TResult>(IEnumerable<T> items, Func<T, Task<TResult>> function, CancellationToken cancellationToken = default);

    /// <summary>Maps an async stream, reading it only as chunks are sent (backpressure), and yields results as they complete.</summary>
    /// <typeparam name="T">The input type; must be shareable.</typeparam>
    /// <typeparam name="TResult">The result type; must be shareable.</typeparam>
    /// <param name="items">The inputs.</param>
    /// <param name="function">A static method or a lambda that captures nothing, taking one item.</param>
    /// <param name="cancellationToken">Stops the map on every silo and the reading of the stream.</param>
    /// <returns>The results, as they complete.</returns>
    IAsyncEnumerable<TResult> MapUnorderedAsync<T, TResult>(IAsyncEnumerable<T> items, Func<T, TResult> function, CancellationToken cancellationToken = default);

    /// <summary>Runs <paramref name="function"/> on <paramref name="input"/> on the least busy silo's pool.</summary>
    /// <typeparam name="T">The input type; must be shareable.</typeparam>
    /// <typeparam name="TResult">The result type; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing, taking one argument.</param>
    /// <param name="input">The argument.</param>
    /// <param name="cancellationToken">Cancels the call on its silo.</param>
    /// <returns>The function's result.</returns>
    Task<TResult> SubmitAsync<T, TResult>(Func<T, TResult> function, T input, CancellationToken cancellationToken = default);

    /// <summary>The same as <see cref="SubmitAsync{T, TResult}(Func{T, TResult}, T, CancellationToken)"/> for an async function.</summary>
    /// <typeparam name="T">The input type; must be shareable.</typeparam>
    /// <typeparam name="TResult">The result type; must be shareable.</typeparam>
    /// <param name="function">A static async method or a lambda that captures nothing, taking one argument.</param>
    /// <param name="input">The argument.</param>
    /// <param name="cancellationToken">Cancels the call on its silo.</param>
    /// <returns>The function's result.</returns>
    Task<TResult> SubmitAsync<T, TResult>(Func<T, Task<TResult>> function, T input, CancellationToken cancellationToken = default);

    /// <summary>The silos that run this pool now, with each one's pool size.</summary>
    /// <param name="cancellationToken">Cancels the look-up.</param>
    /// <returns>Silo address (as Orleans prints it) and pool size, one per silo that runs the pool.</returns>
    Task<IReadOnlyDictionary<string, int>> GetSilosAsync(CancellationToken cancellationToken = default);
}
