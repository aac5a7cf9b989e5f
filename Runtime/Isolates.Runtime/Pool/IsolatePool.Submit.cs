using System.Runtime.CompilerServices;
using Isolates.Pool;

namespace Isolates;

/// <summary>
/// Submitting single calls to the least busy isolate of the pool. Every overload throws
/// <see cref="ObjectDisposedException"/> once the pool is being disposed, and a call still running when the pool's
/// <see cref="IsolatePoolOptions.DisposeTimeout"/> elapses fails with <see cref="IsolatePoolClosedException"/>.
/// </summary>
public sealed partial class IsolatePool
{
    /// <summary>Runs <paramref name="function"/>, which returns a value, on the least busy isolate of the pool (see <see cref="Isolate.CallAsync{TResult}(Func{TResult}, CancellationToken)"/>).</summary>
    /// <typeparam name="TResult">The result type; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The function's result, rebuilt as the caller's type.</returns>
    public Task<TResult> SubmitAsync<TResult>(Func<TResult> function, CancellationToken cancellationToken = default) =>
        SubmitCoreAsync(function, cancellationToken, isolate => isolate.CallAsync(function, cancellationToken));

    /// <summary>Runs <paramref name="function"/>, which is async and returns a value, on the least busy isolate of the pool (see <see cref="Isolate.CallAsync{TResult}(Func{TResult}, CancellationToken)"/>).</summary>
    /// <typeparam name="TResult">The result type; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The function's result, rebuilt as the caller's type.</returns>
    [OverloadResolutionPriority(1)] // async lambdas would otherwise be ambiguous between Task and ValueTask
    public Task<TResult> SubmitAsync<TResult>(Func<Task<TResult>> function, CancellationToken cancellationToken = default) =>
        SubmitCoreAsync(function, cancellationToken, isolate => isolate.CallAsync(function, cancellationToken));

    /// <summary>Runs <paramref name="function"/>, which is async and returns nothing, on the least busy isolate of the pool (see <see cref="Isolate.CallAsync{TResult}(Func{TResult}, CancellationToken)"/>).</summary>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the function has finished.</returns>
    [OverloadResolutionPriority(1)] // async lambdas would otherwise be ambiguous between Task and ValueTask
    public Task SubmitAsync(Func<Task> function, CancellationToken cancellationToken = default) =>
        SubmitCoreAsync(function, cancellationToken, isolate => isolate.CallAsync(function, cancellationToken));

    /// <summary>Runs <paramref name="function"/>, which returns nothing, on the least busy isolate of the pool (see <see cref="Isolate.CallAsync{TResult}(Func{TResult}, CancellationToken)"/>).</summary>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the function has finished.</returns>
    public Task SubmitAsync(Action function, CancellationToken cancellationToken = default) =>
        SubmitCoreAsync(function, cancellationToken, isolate => isolate.CallAsync(function, cancellationToken));

    /// <summary>Runs <paramref name="function"/>, which returns a value, on the least busy isolate of the pool (see <see cref="Isolate.CallAsync{TResult}(Func{TResult}, CancellationToken)"/>).</summary>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <typeparam name="TResult">The result type; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The function's result, rebuilt as the caller's type.</returns>
    public Task<TResult> SubmitAsync<T1, TResult>(Func<T1, TResult> function, T1 arg1, CancellationToken cancellationToken = default) =>
        SubmitCoreAsync(function, cancellationToken, isolate => isolate.CallAsync(function, arg1, cancellationToken));

    /// <summary>Runs <paramref name="function"/>, which is async and returns a value, on the least busy isolate of the pool (see <see cref="Isolate.CallAsync{TResult}(Func{TResult}, CancellationToken)"/>).</summary>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <typeparam name="TResult">The result type; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The function's result, rebuilt as the caller's type.</returns>
    [OverloadResolutionPriority(1)] // async lambdas would otherwise be ambiguous between Task and ValueTask
    public Task<TResult> SubmitAsync<T1, TResult>(Func<T1, Task<TResult>> function, T1 arg1, CancellationToken cancellationToken = default) =>
        SubmitCoreAsync(function, cancellationToken, isolate => isolate.CallAsync(function, arg1, cancellationToken));

    /// <summary>Runs <paramref name="function"/>, which is async and returns nothing, on the least busy isolate of the pool (see <see cref="Isolate.CallAsync{TResult}(Func{TResult}, CancellationToken)"/>).</summary>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the function has finished.</returns>
    [OverloadResolutionPriority(1)] // async lambdas would otherwise be ambiguous between Task and ValueTask
    public Task SubmitAsync<T1>(Func<T1, Task> function, T1 arg1, CancellationToken cancellationToken = default) =>
        SubmitCoreAsync(function, cancellationToken, isolate => isolate.CallAsync(function, arg1, cancellationToken));

    /// <summary>Runs <paramref name="function"/>, which returns nothing, on the least busy isolate of the pool (see <see cref="Isolate.CallAsync{TResult}(Func{TResult}, CancellationToken)"/>).</summary>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the function has finished.</returns>
    public Task SubmitAsync<T1>(Action<T1> function, T1 arg1, CancellationToken cancellationToken = default) =>
        SubmitCoreAsync(function, cancellationToken, isolate => isolate.CallAsync(function, arg1, cancellationToken));

    /// <summary>Runs <paramref name="function"/>, which returns a value, on the least busy isolate of the pool (see <see cref="Isolate.CallAsync{TResult}(Func{TResult}, CancellationToken)"/>).</summary>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <typeparam name="T2">The type of the second argument; must be shareable.</typeparam>
    /// <typeparam name="TResult">The result type; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="arg2">The second argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The function's result, rebuilt as the caller's type.</returns>
    public Task<TResult> SubmitAsync<T1, T2, TResult>(Func<T1, T2, TResult> function, T1 arg1, T2 arg2, CancellationToken cancellationToken = default) =>
        SubmitCoreAsync(function, cancellationToken, isolate => isolate.CallAsync(function, arg1, arg2, cancellationToken));

    /// <summary>Runs <paramref name="function"/>, which is async and returns a value, on the least busy isolate of the pool (see <see cref="Isolate.CallAsync{TResult}(Func{TResult}, CancellationToken)"/>).</summary>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <typeparam name="T2">The type of the second argument; must be shareable.</typeparam>
    /// <typeparam name="TResult">The result type; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="arg2">The second argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The function's result, rebuilt as the caller's type.</returns>
    [OverloadResolutionPriority(1)] // async lambdas would otherwise be ambiguous between Task and ValueTask
    public Task<TResult> SubmitAsync<T1, T2, TResult>(Func<T1, T2, Task<TResult>> function, T1 arg1, T2 arg2, CancellationToken cancellationToken = default) =>
        SubmitCoreAsync(function, cancellationToken, isolate => isolate.CallAsync(function, arg1, arg2, cancellationToken));

    /// <summary>Runs <paramref name="function"/>, which is async and returns nothing, on the least busy isolate of the pool (see <see cref="Isolate.CallAsync{TResult}(Func{TResult}, CancellationToken)"/>).</summary>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <typeparam name="T2">The type of the second argument; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="arg2">The second argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the function has finished.</returns>
    [OverloadResolutionPriority(1)] // async lambdas would otherwise be ambiguous between Task and ValueTask
    public Task SubmitAsync<T1, T2>(Func<T1, T2, Task> function, T1 arg1, T2 arg2, CancellationToken cancellationToken = default) =>
        SubmitCoreAsync(function, cancellationToken, isolate => isolate.CallAsync(function, arg1, arg2, cancellationToken));

    /// <summary>Runs <paramref name="function"/>, which returns nothing, on the least busy isolate of the pool (see <see cref="Isolate.CallAsync{TResult}(Func{TResult}, CancellationToken)"/>).</summary>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <typeparam name="T2">The type of the second argument; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="arg2">The second argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the function has finished.</returns>
    public Task SubmitAsync<T1, T2>(Action<T1, T2> function, T1 arg1, T2 arg2, CancellationToken cancellationToken = default) =>
        SubmitCoreAsync(function, cancellationToken, isolate => isolate.CallAsync(function, arg1, arg2, cancellationToken));

    /// <summary>Runs <paramref name="function"/>, which returns a value, on the least busy isolate of the pool (see <see cref="Isolate.CallAsync{TResult}(Func{TResult}, CancellationToken)"/>).</summary>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <typeparam name="T2">The type of the second argument; must be shareable.</typeparam>
    /// <typeparam name="T3">The type of the third argument; must be shareable.</typeparam>
    /// <typeparam name="TResult">The result type; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="arg2">The second argument, copied into the isolate.</param>
    /// <param name="arg3">The third argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The function's result, rebuilt as the caller's type.</returns>
    public Task<TResult> SubmitAsync<T1, T2, T3, TResult>(Func<T1, T2, T3, TResult> function, T1 arg1, T2 arg2, T3 arg3, CancellationToken cancellationToken = default) =>
        SubmitCoreAsync(function, cancellationToken, isolate => isolate.CallAsync(function, arg1, arg2, arg3, cancellationToken));

    /// <summary>Runs <paramref name="function"/>, which is async and returns a value, on the least busy isolate of the pool (see <see cref="Isolate.CallAsync{TResult}(Func{TResult}, CancellationToken)"/>).</summary>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <typeparam name="T2">The type of the second argument; must be shareable.</typeparam>
    /// <typeparam name="T3">The type of the third argument; must be shareable.</typeparam>
    /// <typeparam name="TResult">The result type; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="arg2">The second argument, copied into the isolate.</param>
    /// <param name="arg3">The third argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The function's result, rebuilt as the caller's type.</returns>
    [OverloadResolutionPriority(1)] // async lambdas would otherwise be ambiguous between Task and ValueTask
    public Task<TResult> SubmitAsync<T1, T2, T3, TResult>(Func<T1, T2, T3, Task<TResult>> function, T1 arg1, T2 arg2, T3 arg3, CancellationToken cancellationToken = default) =>
        SubmitCoreAsync(function, cancellationToken, isolate => isolate.CallAsync(function, arg1, arg2, arg3, cancellationToken));

    /// <summary>Runs <paramref name="function"/>, which is async and returns nothing, on the least busy isolate of the pool (see <see cref="Isolate.CallAsync{TResult}(Func{TResult}, CancellationToken)"/>).</summary>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <typeparam name="T2">The type of the second argument; must be shareable.</typeparam>
    /// <typeparam name="T3">The type of the third argument; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="arg2">The second argument, copied into the isolate.</param>
    /// <param name="arg3">The third argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the function has finished.</returns>
    [OverloadResolutionPriority(1)] // async lambdas would otherwise be ambiguous between Task and ValueTask
    public Task SubmitAsync<T1, T2, T3>(Func<T1, T2, T3, Task> function, T1 arg1, T2 arg2, T3 arg3, CancellationToken cancellationToken = default) =>
        SubmitCoreAsync(function, cancellationToken, isolate => isolate.CallAsync(function, arg1, arg2, arg3, cancellationToken));

    /// <summary>Runs <paramref name="function"/>, which returns nothing, on the least busy isolate of the pool (see <see cref="Isolate.CallAsync{TResult}(Func{TResult}, CancellationToken)"/>).</summary>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <typeparam name="T2">The type of the second argument; must be shareable.</typeparam>
    /// <typeparam name="T3">The type of the third argument; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="arg2">The second argument, copied into the isolate.</param>
    /// <param name="arg3">The third argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the function has finished.</returns>
    public Task SubmitAsync<T1, T2, T3>(Action<T1, T2, T3> function, T1 arg1, T2 arg2, T3 arg3, CancellationToken cancellationToken = default) =>
        SubmitCoreAsync(function, cancellationToken, isolate => isolate.CallAsync(function, arg1, arg2, arg3, cancellationToken));

    /// <summary>Runs <paramref name="function"/>, which returns a value, on the least busy isolate of the pool (see <see cref="Isolate.CallAsync{TResult}(Func{TResult}, CancellationToken)"/>).</summary>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <typeparam name="T2">The type of the second argument; must be shareable.</typeparam>
    /// <typeparam name="T3">The type of the third argument; must be shareable.</typeparam>
    /// <typeparam name="T4">The type of the fourth argument; must be shareable.</typeparam>
    /// <typeparam name="TResult">The result type; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="arg2">The second argument, copied into the isolate.</param>
    /// <param name="arg3">The third argument, copied into the isolate.</param>
    /// <param name="arg4">The fourth argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The function's result, rebuilt as the caller's type.</returns>
    public Task<TResult> SubmitAsync<T1, T2, T3, T4, TResult>(Func<T1, T2, T3, T4, TResult> function, T1 arg1, T2 arg2, T3 arg3, T4 arg4, CancellationToken cancellationToken = default) =>
        SubmitCoreAsync(function, cancellationToken, isolate => isolate.CallAsync(function, arg1, arg2, arg3, arg4, cancellationToken));

    /// <summary>Runs <paramref name="function"/>, which is async and returns a value, on the least busy isolate of the pool (see <see cref="Isolate.CallAsync{TResult}(Func{TResult}, CancellationToken)"/>).</summary>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <typeparam name="T2">The type of the second argument; must be shareable.</typeparam>
    /// <typeparam name="T3">The type of the third argument; must be shareable.</typeparam>
    /// <typeparam name="T4">The type of the fourth argument; must be shareable.</typeparam>
    /// <typeparam name="TResult">The result type; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="arg2">The second argument, copied into the isolate.</param>
    /// <param name="arg3">The third argument, copied into the isolate.</param>
    /// <param name="arg4">The fourth argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The function's result, rebuilt as the caller's type.</returns>
    [OverloadResolutionPriority(1)] // async lambdas would otherwise be ambiguous between Task and ValueTask
    public Task<TResult> SubmitAsync<T1, T2, T3, T4, TResult>(Func<T1, T2, T3, T4, Task<TResult>> function, T1 arg1, T2 arg2, T3 arg3, T4 arg4, CancellationToken cancellationToken = default) =>
        SubmitCoreAsync(function, cancellationToken, isolate => isolate.CallAsync(function, arg1, arg2, arg3, arg4, cancellationToken));

    /// <summary>Runs <paramref name="function"/>, which is async and returns nothing, on the least busy isolate of the pool (see <see cref="Isolate.CallAsync{TResult}(Func{TResult}, CancellationToken)"/>).</summary>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <typeparam name="T2">The type of the second argument; must be shareable.</typeparam>
    /// <typeparam name="T3">The type of the third argument; must be shareable.</typeparam>
    /// <typeparam name="T4">The type of the fourth argument; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="arg2">The second argument, copied into the isolate.</param>
    /// <param name="arg3">The third argument, copied into the isolate.</param>
    /// <param name="arg4">The fourth argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the function has finished.</returns>
    [OverloadResolutionPriority(1)] // async lambdas would otherwise be ambiguous between Task and ValueTask
    public Task SubmitAsync<T1, T2, T3, T4>(Func<T1, T2, T3, T4, Task> function, T1 arg1, T2 arg2, T3 arg3, T4 arg4, CancellationToken cancellationToken = default) =>
        SubmitCoreAsync(function, cancellationToken, isolate => isolate.CallAsync(function, arg1, arg2, arg3, arg4, cancellationToken));

    /// <summary>Runs <paramref name="function"/>, which returns nothing, on the least busy isolate of the pool (see <see cref="Isolate.CallAsync{TResult}(Func{TResult}, CancellationToken)"/>).</summary>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <typeparam name="T2">The type of the second argument; must be shareable.</typeparam>
    /// <typeparam name="T3">The type of the third argument; must be shareable.</typeparam>
    /// <typeparam name="T4">The type of the fourth argument; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="arg2">The second argument, copied into the isolate.</param>
    /// <param name="arg3">The third argument, copied into the isolate.</param>
    /// <param name="arg4">The fourth argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the function has finished.</returns>
    public Task SubmitAsync<T1, T2, T3, T4>(Action<T1, T2, T3, T4> function, T1 arg1, T2 arg2, T3 arg3, T4 arg4, CancellationToken cancellationToken = default) =>
        SubmitCoreAsync(function, cancellationToken, isolate => isolate.CallAsync(function, arg1, arg2, arg3, arg4, cancellationToken));

    private Task<TResult> SubmitCoreAsync<TResult>(Delegate function, CancellationToken cancellationToken, Func<Isolate, Task<TResult>> call)
    {
        ArgumentNullException.ThrowIfNull(function);
        BeginOperation();
        return RunSubmittedAsync(call, cancellationToken);
    }

    private Task SubmitCoreAsync(Delegate function, CancellationToken cancellationToken, Func<Isolate, Task> call)
    {
        ArgumentNullException.ThrowIfNull(function);
        BeginOperation();
        return RunSubmittedAsync(call, cancellationToken);
    }

    private async Task<TResult> RunSubmittedAsync<TResult>(Func<Isolate, Task<TResult>> call, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                PoolWorker worker = LeastBusyWorker();
                worker.Enter();
                Isolate? isolate = null;
                try
                {
                    // Waits while the slot's isolate is being replaced (it chose this slot only if every slot was),
                    // bounded by the caller's token and by the pool closing its isolates.
                    isolate = await worker.AcquireAsync(cancellationToken).ConfigureAwait(false);
                    return await call(isolate).ConfigureAwait(false);
                }
                catch (IsolateClosedException ex) when (MayRunElsewhere(ex, isolate))
                {
                    // The isolate ended before the call started (it faulted or was closed with the call queued): it
                    // never ran, so it runs on a running slot or the replacement instead of failing.
                }
                catch (Exception ex) when (IsCutShort(ex, cancellationToken))
                {
                    throw SubmitCutShort(ex);
                }
                finally
                {
                    worker.Exit();
                }
            }
        }
        finally
        {
            EndOperation();
        }
    }

    private async Task RunSubmittedAsync(Func<Isolate, Task> call, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                PoolWorker worker = LeastBusyWorker();
                worker.Enter();
                Isolate? isolate = null;
                try
                {
                    isolate = await worker.AcquireAsync(cancellationToken).ConfigureAwait(false);
                    await call(isolate).ConfigureAwait(false);
                    return;
                }
                catch (IsolateClosedException ex) when (MayRunElsewhere(ex, isolate))
                {
                    // never ran: see the generic overload
                }
                catch (Exception ex) when (IsCutShort(ex, cancellationToken))
                {
                    throw SubmitCutShort(ex);
                }
                finally
                {
                    worker.Exit();
                }
            }
        }
        finally
        {
            EndOperation();
        }
    }

    /// <summary>
    /// Whether a submitted call that its isolate refused may be sent again: the refusal is that isolate's own (not
    /// one thrown by the function, which did run), the call never started, and the pool is not closing its isolates
    /// (then it fails as cut short). The ended isolate is no longer chosen (not running), so the retry goes to another
    /// slot or waits for the replacement; it never spins on the same isolate.
    /// </summary>
    private bool MayRunElsewhere(IsolateClosedException exception, Isolate? sentTo) =>
        exception.NotStarted && sentTo is not null && exception.IsolateId == sentTo.Id && sentTo.State != IsolateState.Running && !IsAborting;
}
