using System.Runtime.CompilerServices;
using Isolates.Calls;

namespace Isolates;

/// <summary>
/// Calls: run a static method (or a lambda that captures nothing) inside the isolate and get its result back.
/// One overload per arity (0 to 4 arguments) and result shape (a value, a task of a value, a task, nothing).
/// </summary>
public sealed partial class Isolate
{
    /// <summary>Runs <paramref name="function"/>, which returns a value, inside this isolate with 0 arguments.</summary>
    /// <remarks>
    /// The runtime finds the same method in the isolate's own copy of its assembly and runs it on the isolate's
    /// thread, where static fields are the isolate's own. Arguments and the result cross as copies: immutable
    /// framework values as they are, everything else encoded and rebuilt as the receiver's own types.
    /// </remarks>
    /// <typeparam name="TResult">The result type; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="cancellationToken">Cancels the call: the returned task completes as cancelled at once, and a
    /// <see cref="CancellationToken"/> parameter of the function (if any) is cancelled inside the isolate.</param>
    /// <returns>The function's result, rebuilt as the caller's type.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="function"/> is null.</exception>
    /// <exception cref="NotShareableException">(in the task) The function captures state, or a type is not shareable.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The function threw inside the isolate.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the call finished.</exception>
    public Task<TResult> CallAsync<TResult>(Func<TResult> function, CancellationToken cancellationToken = default) =>
        Dispatch<Args0, TResult>(function, ResultShape.Value, new Args0(), static (d, a) => ((Func<TResult>)d)(), cancellationToken);

    /// <summary>Runs <paramref name="function"/>, which is async and returns a value, inside this isolate with 0 arguments.</summary>
    /// <remarks>
    /// The runtime finds the same method in the isolate's own copy of its assembly and runs it on the isolate's
    /// thread, where static fields are the isolate's own. Arguments and the result cross as copies: immutable
    /// framework values as they are, everything else encoded and rebuilt as the receiver's own types.
    /// </remarks>
    /// <typeparam name="TResult">The result type; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="cancellationToken">Cancels the call: the returned task completes as cancelled at once, and a
    /// <see cref="CancellationToken"/> parameter of the function (if any) is cancelled inside the isolate.</param>
    /// <returns>The function's result, rebuilt as the caller's type.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="function"/> is null.</exception>
    /// <exception cref="NotShareableException">(in the task) The function captures state, or a type is not shareable.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The function threw inside the isolate.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the call finished.</exception>
    [OverloadResolutionPriority(1)] // async lambdas would otherwise be ambiguous between Task and ValueTask
    public Task<TResult> CallAsync<TResult>(Func<Task<TResult>> function, CancellationToken cancellationToken = default) =>
        Dispatch<Args0, TResult>(function, ResultShape.TaskOfT, new Args0(), static (d, a) => ((Func<Task<TResult>>)d)(), cancellationToken);

    /// <summary>Runs <paramref name="function"/>, which returns a value through a ValueTask, inside this isolate with 0 arguments.</summary>
    /// <remarks>
    /// The runtime finds the same method in the isolate's own copy of its assembly and runs it on the isolate's
    /// thread, where static fields are the isolate's own. Arguments and the result cross as copies: immutable
    /// framework values as they are, everything else encoded and rebuilt as the receiver's own types.
    /// </remarks>
    /// <typeparam name="TResult">The result type; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="cancellationToken">Cancels the call: the returned task completes as cancelled at once, and a
    /// <see cref="CancellationToken"/> parameter of the function (if any) is cancelled inside the isolate.</param>
    /// <returns>The function's result, rebuilt as the caller's type.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="function"/> is null.</exception>
    /// <exception cref="NotShareableException">(in the task) The function captures state, or a type is not shareable.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The function threw inside the isolate.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the call finished.</exception>
    public Task<TResult> CallAsync<TResult>(Func<ValueTask<TResult>> function, CancellationToken cancellationToken = default) =>
        Dispatch<Args0, TResult>(function, ResultShape.ValueTaskOfT, new Args0(), static (d, a) => ((Func<ValueTask<TResult>>)d)(), cancellationToken);

    /// <summary>Runs <paramref name="function"/>, which is async and returns nothing, inside this isolate with 0 arguments.</summary>
    /// <remarks>
    /// The runtime finds the same method in the isolate's own copy of its assembly and runs it on the isolate's
    /// thread, where static fields are the isolate's own. Arguments and the result cross as copies: immutable
    /// framework values as they are, everything else encoded and rebuilt as the receiver's own types.
    /// </remarks>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="cancellationToken">Cancels the call: the returned task completes as cancelled at once, and a
    /// <see cref="CancellationToken"/> parameter of the function (if any) is cancelled inside the isolate.</param>
    /// <returns>A task that completes when the function has finished in the isolate.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="function"/> is null.</exception>
    /// <exception cref="NotShareableException">(in the task) The function captures state, or a type is not shareable.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The function threw inside the isolate.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the call finished.</exception>
    [OverloadResolutionPriority(1)] // async lambdas would otherwise be ambiguous between Task and ValueTask
    public Task CallAsync(Func<Task> function, CancellationToken cancellationToken = default) =>
        Dispatch<Args0, Unit>(function, ResultShape.Task, new Args0(), static (d, a) => ((Func<Task>)d)(), cancellationToken);

    /// <summary>Runs <paramref name="function"/>, which returns nothing through a ValueTask, inside this isolate with 0 arguments.</summary>
    /// <remarks>
    /// The runtime finds the same method in the isolate's own copy of its assembly and runs it on the isolate's
    /// thread, where static fields are the isolate's own. Arguments and the result cross as copies: immutable
    /// framework values as they are, everything else encoded and rebuilt as the receiver's own types.
    /// </remarks>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="cancellationToken">Cancels the call: the returned task completes as cancelled at once, and a
    /// <see cref="CancellationToken"/> parameter of the function (if any) is cancelled inside the isolate.</param>
    /// <returns>A task that completes when the function has finished in the isolate.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="function"/> is null.</exception>
    /// <exception cref="NotShareableException">(in the task) The function captures state, or a type is not shareable.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The function threw inside the isolate.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the call finished.</exception>
    public Task CallAsync(Func<ValueTask> function, CancellationToken cancellationToken = default) =>
        Dispatch<Args0, Unit>(function, ResultShape.ValueTask, new Args0(), static (d, a) => ((Func<ValueTask>)d)(), cancellationToken);

    /// <summary>Runs <paramref name="function"/>, which returns nothing, inside this isolate with 0 arguments.</summary>
    /// <remarks>
    /// The runtime finds the same method in the isolate's own copy of its assembly and runs it on the isolate's
    /// thread, where static fields are the isolate's own. Arguments and the result cross as copies: immutable
    /// framework values as they are, everything else encoded and rebuilt as the receiver's own types.
    /// </remarks>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="cancellationToken">Cancels the call: the returned task completes as cancelled at once, and a
    /// <see cref="CancellationToken"/> parameter of the function (if any) is cancelled inside the isolate.</param>
    /// <returns>A task that completes when the function has finished in the isolate.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="function"/> is null.</exception>
    /// <exception cref="NotShareableException">(in the task) The function captures state, or a type is not shareable.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The function threw inside the isolate.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the call finished.</exception>
    public Task CallAsync(Action function, CancellationToken cancellationToken = default) =>
        Dispatch<Args0, Unit>(function, ResultShape.Void, new Args0(), static (d, a) => { ((Action)d)(); return null; }, cancellationToken);

    /// <summary>Runs <paramref name="function"/>, which returns a value, inside this isolate with 1 argument.</summary>
    /// <remarks>
    /// The runtime finds the same method in the isolate's own copy of its assembly and runs it on the isolate's
    /// thread, where static fields are the isolate's own. Arguments and the result cross as copies: immutable
    /// framework values as they are, everything else encoded and rebuilt as the receiver's own types.
    /// </remarks>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <typeparam name="TResult">The result type; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call: the returned task completes as cancelled at once, and a
    /// <see cref="CancellationToken"/> parameter of the function (if any) is cancelled inside the isolate.</param>
    /// <returns>The function's result, rebuilt as the caller's type.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="function"/> is null.</exception>
    /// <exception cref="NotShareableException">(in the task) The function captures state, or a type is not shareable.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The function threw inside the isolate.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the call finished.</exception>
    public Task<TResult> CallAsync<T1, TResult>(Func<T1, TResult> function, T1 arg1, CancellationToken cancellationToken = default) =>
        Dispatch<Args1<T1>, TResult>(function, ResultShape.Value, new Args1<T1>(arg1), static (d, a) => ((Func<T1, TResult>)d)(a.A1), cancellationToken);

    /// <summary>Runs <paramref name="function"/>, which is async and returns a value, inside this isolate with 1 argument.</summary>
    /// <remarks>
    /// The runtime finds the same method in the isolate's own copy of its assembly and runs it on the isolate's
    /// thread, where static fields are the isolate's own. Arguments and the result cross as copies: immutable
    /// framework values as they are, everything else encoded and rebuilt as the receiver's own types.
    /// </remarks>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <typeparam name="TResult">The result type; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call: the returned task completes as cancelled at once, and a
    /// <see cref="CancellationToken"/> parameter of the function (if any) is cancelled inside the isolate.</param>
    /// <returns>The function's result, rebuilt as the caller's type.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="function"/> is null.</exception>
    /// <exception cref="NotShareableException">(in the task) The function captures state, or a type is not shareable.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The function threw inside the isolate.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the call finished.</exception>
    [OverloadResolutionPriority(1)] // async lambdas would otherwise be ambiguous between Task and ValueTask
    public Task<TResult> CallAsync<T1, TResult>(Func<T1, Task<TResult>> function, T1 arg1, CancellationToken cancellationToken = default) =>
        Dispatch<Args1<T1>, TResult>(function, ResultShape.TaskOfT, new Args1<T1>(arg1), static (d, a) => ((Func<T1, Task<TResult>>)d)(a.A1), cancellationToken);

    /// <summary>Runs <paramref name="function"/>, which returns a value through a ValueTask, inside this isolate with 1 argument.</summary>
    /// <remarks>
    /// The runtime finds the same method in the isolate's own copy of its assembly and runs it on the isolate's
    /// thread, where static fields are the isolate's own. Arguments and the result cross as copies: immutable
    /// framework values as they are, everything else encoded and rebuilt as the receiver's own types.
    /// </remarks>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <typeparam name="TResult">The result type; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call: the returned task completes as cancelled at once, and a
    /// <see cref="CancellationToken"/> parameter of the function (if any) is cancelled inside the isolate.</param>
    /// <returns>The function's result, rebuilt as the caller's type.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="function"/> is null.</exception>
    /// <exception cref="NotShareableException">(in the task) The function captures state, or a type is not shareable.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The function threw inside the isolate.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the call finished.</exception>
    public Task<TResult> CallAsync<T1, TResult>(Func<T1, ValueTask<TResult>> function, T1 arg1, CancellationToken cancellationToken = default) =>
        Dispatch<Args1<T1>, TResult>(function, ResultShape.ValueTaskOfT, new Args1<T1>(arg1), static (d, a) => ((Func<T1, ValueTask<TResult>>)d)(a.A1), cancellationToken);

    /// <summary>Runs <paramref name="function"/>, which is async and returns nothing, inside this isolate with 1 argument.</summary>
    /// <remarks>
    /// The runtime finds the same method in the isolate's own copy of its assembly and runs it on the isolate's
    /// thread, where static fields are the isolate's own. Arguments and the result cross as copies: immutable
    /// framework values as they are, everything else encoded and rebuilt as the receiver's own types.
    /// </remarks>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call: the returned task completes as cancelled at once, and a
    /// <see cref="CancellationToken"/> parameter of the function (if any) is cancelled inside the isolate.</param>
    /// <returns>A task that completes when the function has finished in the isolate.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="function"/> is null.</exception>
    /// <exception cref="NotShareableException">(in the task) The function captures state, or a type is not shareable.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The function threw inside the isolate.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the call finished.</exception>
    [OverloadResolutionPriority(1)] // async lambdas would otherwise be ambiguous between Task and ValueTask
    public Task CallAsync<T1>(Func<T1, Task> function, T1 arg1, CancellationToken cancellationToken = default) =>
        Dispatch<Args1<T1>, Unit>(function, ResultShape.Task, new Args1<T1>(arg1), static (d, a) => ((Func<T1, Task>)d)(a.A1), cancellationToken);

    /// <summary>Runs <paramref name="function"/>, which returns nothing through a ValueTask, inside this isolate with 1 argument.</summary>
    /// <remarks>
    /// The runtime finds the same method in the isolate's own copy of its assembly and runs it on the isolate's
    /// thread, where static fields are the isolate's own. Arguments and the result cross as copies: immutable
    /// framework values as they are, everything else encoded and rebuilt as the receiver's own types.
    /// </remarks>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call: the returned task completes as cancelled at once, and a
    /// <see cref="CancellationToken"/> parameter of the function (if any) is cancelled inside the isolate.</param>
    /// <returns>A task that completes when the function has finished in the isolate.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="function"/> is null.</exception>
    /// <exception cref="NotShareableException">(in the task) The function captures state, or a type is not shareable.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The function threw inside the isolate.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the call finished.</exception>
    public Task CallAsync<T1>(Func<T1, ValueTask> function, T1 arg1, CancellationToken cancellationToken = default) =>
        Dispatch<Args1<T1>, Unit>(function, ResultShape.ValueTask, new Args1<T1>(arg1), static (d, a) => ((Func<T1, ValueTask>)d)(a.A1), cancellationToken);

    /// <summary>Runs <paramref name="function"/>, which returns nothing, inside this isolate with 1 argument.</summary>
    /// <remarks>
    /// The runtime finds the same method in the isolate's own copy of its assembly and runs it on the isolate's
    /// thread, where static fields are the isolate's own. Arguments and the result cross as copies: immutable
    /// framework values as they are, everything else encoded and rebuilt as the receiver's own types.
    /// </remarks>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call: the returned task completes as cancelled at once, and a
    /// <see cref="CancellationToken"/> parameter of the function (if any) is cancelled inside the isolate.</param>
    /// <returns>A task that completes when the function has finished in the isolate.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="function"/> is null.</exception>
    /// <exception cref="NotShareableException">(in the task) The function captures state, or a type is not shareable.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The function threw inside the isolate.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the call finished.</exception>
    public Task CallAsync<T1>(Action<T1> function, T1 arg1, CancellationToken cancellationToken = default) =>
        Dispatch<Args1<T1>, Unit>(function, ResultShape.Void, new Args1<T1>(arg1), static (d, a) => { ((Action<T1>)d)(a.A1); return null; }, cancellationToken);

    /// <summary>Runs <paramref name="function"/>, which returns a value, inside this isolate with 2 arguments.</summary>
    /// <remarks>
    /// The runtime finds the same method in the isolate's own copy of its assembly and runs it on the isolate's
    /// thread, where static fields are the isolate's own. Arguments and the result cross as copies: immutable
    /// framework values as they are, everything else encoded and rebuilt as the receiver's own types.
    /// </remarks>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <typeparam name="T2">The type of the second argument; must be shareable.</typeparam>
    /// <typeparam name="TResult">The result type; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="arg2">The second argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call: the returned task completes as cancelled at once, and a
    /// <see cref="CancellationToken"/> parameter of the function (if any) is cancelled inside the isolate.</param>
    /// <returns>The function's result, rebuilt as the caller's type.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="function"/> is null.</exception>
    /// <exception cref="NotShareableException">(in the task) The function captures state, or a type is not shareable.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The function threw inside the isolate.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the call finished.</exception>
    public Task<TResult> CallAsync<T1, T2, TResult>(Func<T1, T2, TResult> function, T1 arg1, T2 arg2, CancellationToken cancellationToken = default) =>
        Dispatch<Args2<T1, T2>, TResult>(function, ResultShape.Value, new Args2<T1, T2>(arg1, arg2), static (d, a) => ((Func<T1, T2, TResult>)d)(a.A1, a.A2), cancellationToken);

    /// <summary>Runs <paramref name="function"/>, which is async and returns a value, inside this isolate with 2 arguments.</summary>
    /// <remarks>
    /// The runtime finds the same method in the isolate's own copy of its assembly and runs it on the isolate's
    /// thread, where static fields are the isolate's own. Arguments and the result cross as copies: immutable
    /// framework values as they are, everything else encoded and rebuilt as the receiver's own types.
    /// </remarks>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <typeparam name="T2">The type of the second argument; must be shareable.</typeparam>
    /// <typeparam name="TResult">The result type; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="arg2">The second argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call: the returned task completes as cancelled at once, and a
    /// <see cref="CancellationToken"/> parameter of the function (if any) is cancelled inside the isolate.</param>
    /// <returns>The function's result, rebuilt as the caller's type.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="function"/> is null.</exception>
    /// <exception cref="NotShareableException">(in the task) The function captures state, or a type is not shareable.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The function threw inside the isolate.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the call finished.</exception>
    [OverloadResolutionPriority(1)] // async lambdas would otherwise be ambiguous between Task and ValueTask
    public Task<TResult> CallAsync<T1, T2, TResult>(Func<T1, T2, Task<TResult>> function, T1 arg1, T2 arg2, CancellationToken cancellationToken = default) =>
        Dispatch<Args2<T1, T2>, TResult>(function, ResultShape.TaskOfT, new Args2<T1, T2>(arg1, arg2), static (d, a) => ((Func<T1, T2, Task<TResult>>)d)(a.A1, a.A2), cancellationToken);

    /// <summary>Runs <paramref name="function"/>, which returns a value through a ValueTask, inside this isolate with 2 arguments.</summary>
    /// <remarks>
    /// The runtime finds the same method in the isolate's own copy of its assembly and runs it on the isolate's
    /// thread, where static fields are the isolate's own. Arguments and the result cross as copies: immutable
    /// framework values as they are, everything else encoded and rebuilt as the receiver's own types.
    /// </remarks>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <typeparam name="T2">The type of the second argument; must be shareable.</typeparam>
    /// <typeparam name="TResult">The result type; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="arg2">The second argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call: the returned task completes as cancelled at once, and a
    /// <see cref="CancellationToken"/> parameter of the function (if any) is cancelled inside the isolate.</param>
    /// <returns>The function's result, rebuilt as the caller's type.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="function"/> is null.</exception>
    /// <exception cref="NotShareableException">(in the task) The function captures state, or a type is not shareable.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The function threw inside the isolate.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the call finished.</exception>
    public Task<TResult> CallAsync<T1, T2, TResult>(Func<T1, T2, ValueTask<TResult>> function, T1 arg1, T2 arg2, CancellationToken cancellationToken = default) =>
        Dispatch<Args2<T1, T2>, TResult>(function, ResultShape.ValueTaskOfT, new Args2<T1, T2>(arg1, arg2), static (d, a) => ((Func<T1, T2, ValueTask<TResult>>)d)(a.A1, a.A2), cancellationToken);

    /// <summary>Runs <paramref name="function"/>, which is async and returns nothing, inside this isolate with 2 arguments.</summary>
    /// <remarks>
    /// The runtime finds the same method in the isolate's own copy of its assembly and runs it on the isolate's
    /// thread, where static fields are the isolate's own. Arguments and the result cross as copies: immutable
    /// framework values as they are, everything else encoded and rebuilt as the receiver's own types.
    /// </remarks>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <typeparam name="T2">The type of the second argument; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="arg2">The second argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call: the returned task completes as cancelled at once, and a
    /// <see cref="CancellationToken"/> parameter of the function (if any) is cancelled inside the isolate.</param>
    /// <returns>A task that completes when the function has finished in the isolate.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="function"/> is null.</exception>
    /// <exception cref="NotShareableException">(in the task) The function captures state, or a type is not shareable.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The function threw inside the isolate.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the call finished.</exception>
    [OverloadResolutionPriority(1)] // async lambdas would otherwise be ambiguous between Task and ValueTask
    public Task CallAsync<T1, T2>(Func<T1, T2, Task> function, T1 arg1, T2 arg2, CancellationToken cancellationToken = default) =>
        Dispatch<Args2<T1, T2>, Unit>(function, ResultShape.Task, new Args2<T1, T2>(arg1, arg2), static (d, a) => ((Func<T1, T2, Task>)d)(a.A1, a.A2), cancellationToken);

    /// <summary>Runs <paramref name="function"/>, which returns nothing through a ValueTask, inside this isolate with 2 arguments.</summary>
    /// <remarks>
    /// The runtime finds the same method in the isolate's own copy of its assembly and runs it on the isolate's
    /// thread, where static fields are the isolate's own. Arguments and the result cross as copies: immutable
    /// framework values as they are, everything else encoded and rebuilt as the receiver's own types.
    /// </remarks>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <typeparam name="T2">The type of the second argument; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="arg2">The second argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call: the returned task completes as cancelled at once, and a
    /// <see cref="CancellationToken"/> parameter of the function (if any) is cancelled inside the isolate.</param>
    /// <returns>A task that completes when the function has finished in the isolate.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="function"/> is null.</exception>
    /// <exception cref="NotShareableException">(in the task) The function captures state, or a type is not shareable.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The function threw inside the isolate.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the call finished.</exception>
    public Task CallAsync<T1, T2>(Func<T1, T2, ValueTask> function, T1 arg1, T2 arg2, CancellationToken cancellationToken = default) =>
        Dispatch<Args2<T1, T2>, Unit>(function, ResultShape.ValueTask, new Args2<T1, T2>(arg1, arg2), static (d, a) => ((Func<T1, T2, ValueTask>)d)(a.A1, a.A2), cancellationToken);

    /// <summary>Runs <paramref name="function"/>, which returns nothing, inside this isolate with 2 arguments.</summary>
    /// <remarks>
    /// The runtime finds the same method in the isolate's own copy of its assembly and runs it on the isolate's
    /// thread, where static fields are the isolate's own. Arguments and the result cross as copies: immutable
    /// framework values as they are, everything else encoded and rebuilt as the receiver's own types.
    /// </remarks>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <typeparam name="T2">The type of the second argument; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="arg2">The second argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call: the returned task completes as cancelled at once, and a
    /// <see cref="CancellationToken"/> parameter of the function (if any) is cancelled inside the isolate.</param>
    /// <returns>A task that completes when the function has finished in the isolate.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="function"/> is null.</exception>
    /// <exception cref="NotShareableException">(in the task) The function captures state, or a type is not shareable.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The function threw inside the isolate.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the call finished.</exception>
    public Task CallAsync<T1, T2>(Action<T1, T2> function, T1 arg1, T2 arg2, CancellationToken cancellationToken = default) =>
        Dispatch<Args2<T1, T2>, Unit>(function, ResultShape.Void, new Args2<T1, T2>(arg1, arg2), static (d, a) => { ((Action<T1, T2>)d)(a.A1, a.A2); return null; }, cancellationToken);

    /// <summary>Runs <paramref name="function"/>, which returns a value, inside this isolate with 3 arguments.</summary>
    /// <remarks>
    /// The runtime finds the same method in the isolate's own copy of its assembly and runs it on the isolate's
    /// thread, where static fields are the isolate's own. Arguments and the result cross as copies: immutable
    /// framework values as they are, everything else encoded and rebuilt as the receiver's own types.
    /// </remarks>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <typeparam name="T2">The type of the second argument; must be shareable.</typeparam>
    /// <typeparam name="T3">The type of the third argument; must be shareable.</typeparam>
    /// <typeparam name="TResult">The result type; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="arg2">The second argument, copied into the isolate.</param>
    /// <param name="arg3">The third argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call: the returned task completes as cancelled at once, and a
    /// <see cref="CancellationToken"/> parameter of the function (if any) is cancelled inside the isolate.</param>
    /// <returns>The function's result, rebuilt as the caller's type.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="function"/> is null.</exception>
    /// <exception cref="NotShareableException">(in the task) The function captures state, or a type is not shareable.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The function threw inside the isolate.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the call finished.</exception>
    public Task<TResult> CallAsync<T1, T2, T3, TResult>(Func<T1, T2, T3, TResult> function, T1 arg1, T2 arg2, T3 arg3, CancellationToken cancellationToken = default) =>
        Dispatch<Args3<T1, T2, T3>, TResult>(function, ResultShape.Value, new Args3<T1, T2, T3>(arg1, arg2, arg3), static (d, a) => ((Func<T1, T2, T3, TResult>)d)(a.A1, a.A2, a.A3), cancellationToken);

    /// <summary>Runs <paramref name="function"/>, which is async and returns a value, inside this isolate with 3 arguments.</summary>
    /// <remarks>
    /// The runtime finds the same method in the isolate's own copy of its assembly and runs it on the isolate's
    /// thread, where static fields are the isolate's own. Arguments and the result cross as copies: immutable
    /// framework values as they are, everything else encoded and rebuilt as the receiver's own types.
    /// </remarks>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <typeparam name="T2">The type of the second argument; must be shareable.</typeparam>
    /// <typeparam name="T3">The type of the third argument; must be shareable.</typeparam>
    /// <typeparam name="TResult">The result type; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="arg2">The second argument, copied into the isolate.</param>
    /// <param name="arg3">The third argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call: the returned task completes as cancelled at once, and a
    /// <see cref="CancellationToken"/> parameter of the function (if any) is cancelled inside the isolate.</param>
    /// <returns>The function's result, rebuilt as the caller's type.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="function"/> is null.</exception>
    /// <exception cref="NotShareableException">(in the task) The function captures state, or a type is not shareable.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The function threw inside the isolate.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the call finished.</exception>
    [OverloadResolutionPriority(1)] // async lambdas would otherwise be ambiguous between Task and ValueTask
    public Task<TResult> CallAsync<T1, T2, T3, TResult>(Func<T1, T2, T3, Task<TResult>> function, T1 arg1, T2 arg2, T3 arg3, CancellationToken cancellationToken = default) =>
        Dispatch<Args3<T1, T2, T3>, TResult>(function, ResultShape.TaskOfT, new Args3<T1, T2, T3>(arg1, arg2, arg3), static (d, a) => ((Func<T1, T2, T3, Task<TResult>>)d)(a.A1, a.A2, a.A3), cancellationToken);

    /// <summary>Runs <paramref name="function"/>, which returns a value through a ValueTask, inside this isolate with 3 arguments.</summary>
    /// <remarks>
    /// The runtime finds the same method in the isolate's own copy of its assembly and runs it on the isolate's
    /// thread, where static fields are the isolate's own. Arguments and the result cross as copies: immutable
    /// framework values as they are, everything else encoded and rebuilt as the receiver's own types.
    /// </remarks>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <typeparam name="T2">The type of the second argument; must be shareable.</typeparam>
    /// <typeparam name="T3">The type of the third argument; must be shareable.</typeparam>
    /// <typeparam name="TResult">The result type; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="arg2">The second argument, copied into the isolate.</param>
    /// <param name="arg3">The third argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call: the returned task completes as cancelled at once, and a
    /// <see cref="CancellationToken"/> parameter of the function (if any) is cancelled inside the isolate.</param>
    /// <returns>The function's result, rebuilt as the caller's type.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="function"/> is null.</exception>
    /// <exception cref="NotShareableException">(in the task) The function captures state, or a type is not shareable.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The function threw inside the isolate.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the call finished.</exception>
    public Task<TResult> CallAsync<T1, T2, T3, TResult>(Func<T1, T2, T3, ValueTask<TResult>> function, T1 arg1, T2 arg2, T3 arg3, CancellationToken cancellationToken = default) =>
        Dispatch<Args3<T1, T2, T3>, TResult>(function, ResultShape.ValueTaskOfT, new Args3<T1, T2, T3>(arg1, arg2, arg3), static (d, a) => ((Func<T1, T2, T3, ValueTask<TResult>>)d)(a.A1, a.A2, a.A3), cancellationToken);

    /// <summary>Runs <paramref name="function"/>, which is async and returns nothing, inside this isolate with 3 arguments.</summary>
    /// <remarks>
    /// The runtime finds the same method in the isolate's own copy of its assembly and runs it on the isolate's
    /// thread, where static fields are the isolate's own. Arguments and the result cross as copies: immutable
    /// framework values as they are, everything else encoded and rebuilt as the receiver's own types.
    /// </remarks>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <typeparam name="T2">The type of the second argument; must be shareable.</typeparam>
    /// <typeparam name="T3">The type of the third argument; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="arg2">The second argument, copied into the isolate.</param>
    /// <param name="arg3">The third argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call: the returned task completes as cancelled at once, and a
    /// <see cref="CancellationToken"/> parameter of the function (if any) is cancelled inside the isolate.</param>
    /// <returns>A task that completes when the function has finished in the isolate.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="function"/> is null.</exception>
    /// <exception cref="NotShareableException">(in the task) The function captures state, or a type is not shareable.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The function threw inside the isolate.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the call finished.</exception>
    [OverloadResolutionPriority(1)] // async lambdas would otherwise be ambiguous between Task and ValueTask
    public Task CallAsync<T1, T2, T3>(Func<T1, T2, T3, Task> function, T1 arg1, T2 arg2, T3 arg3, CancellationToken cancellationToken = default) =>
        Dispatch<Args3<T1, T2, T3>, Unit>(function, ResultShape.Task, new Args3<T1, T2, T3>(arg1, arg2, arg3), static (d, a) => ((Func<T1, T2, T3, Task>)d)(a.A1, a.A2, a.A3), cancellationToken);

    /// <summary>Runs <paramref name="function"/>, which returns nothing through a ValueTask, inside this isolate with 3 arguments.</summary>
    /// <remarks>
    /// The runtime finds the same method in the isolate's own copy of its assembly and runs it on the isolate's
    /// thread, where static fields are the isolate's own. Arguments and the result cross as copies: immutable
    /// framework values as they are, everything else encoded and rebuilt as the receiver's own types.
    /// </remarks>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <typeparam name="T2">The type of the second argument; must be shareable.</typeparam>
    /// <typeparam name="T3">The type of the third argument; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="arg2">The second argument, copied into the isolate.</param>
    /// <param name="arg3">The third argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call: the returned task completes as cancelled at once, and a
    /// <see cref="CancellationToken"/> parameter of the function (if any) is cancelled inside the isolate.</param>
    /// <returns>A task that completes when the function has finished in the isolate.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="function"/> is null.</exception>
    /// <exception cref="NotShareableException">(in the task) The function captures state, or a type is not shareable.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The function threw inside the isolate.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the call finished.</exception>
    public Task CallAsync<T1, T2, T3>(Func<T1, T2, T3, ValueTask> function, T1 arg1, T2 arg2, T3 arg3, CancellationToken cancellationToken = default) =>
        Dispatch<Args3<T1, T2, T3>, Unit>(function, ResultShape.ValueTask, new Args3<T1, T2, T3>(arg1, arg2, arg3), static (d, a) => ((Func<T1, T2, T3, ValueTask>)d)(a.A1, a.A2, a.A3), cancellationToken);

    /// <summary>Runs <paramref name="function"/>, which returns nothing, inside this isolate with 3 arguments.</summary>
    /// <remarks>
    /// The runtime finds the same method in the isolate's own copy of its assembly and runs it on the isolate's
    /// thread, where static fields are the isolate's own. Arguments and the result cross as copies: immutable
    /// framework values as they are, everything else encoded and rebuilt as the receiver's own types.
    /// </remarks>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <typeparam name="T2">The type of the second argument; must be shareable.</typeparam>
    /// <typeparam name="T3">The type of the third argument; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="arg2">The second argument, copied into the isolate.</param>
    /// <param name="arg3">The third argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call: the returned task completes as cancelled at once, and a
    /// <see cref="CancellationToken"/> parameter of the function (if any) is cancelled inside the isolate.</param>
    /// <returns>A task that completes when the function has finished in the isolate.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="function"/> is null.</exception>
    /// <exception cref="NotShareableException">(in the task) The function captures state, or a type is not shareable.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The function threw inside the isolate.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the call finished.</exception>
    public Task CallAsync<T1, T2, T3>(Action<T1, T2, T3> function, T1 arg1, T2 arg2, T3 arg3, CancellationToken cancellationToken = default) =>
        Dispatch<Args3<T1, T2, T3>, Unit>(function, ResultShape.Void, new Args3<T1, T2, T3>(arg1, arg2, arg3), static (d, a) => { ((Action<T1, T2, T3>)d)(a.A1, a.A2, a.A3); return null; }, cancellationToken);

    /// <summary>Runs <paramref name="function"/>, which returns a value, inside this isolate with 4 arguments.</summary>
    /// <remarks>
    /// The runtime finds the same method in the isolate's own copy of its assembly and runs it on the isolate's
    /// thread, where static fields are the isolate's own. Arguments and the result cross as copies: immutable
    /// framework values as they are, everything else encoded and rebuilt as the receiver's own types.
    /// </remarks>
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
    /// <param name="cancellationToken">Cancels the call: the returned task completes as cancelled at once, and a
    /// <see cref="CancellationToken"/> parameter of the function (if any) is cancelled inside the isolate.</param>
    /// <returns>The function's result, rebuilt as the caller's type.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="function"/> is null.</exception>
    /// <exception cref="NotShareableException">(in the task) The function captures state, or a type is not shareable.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The function threw inside the isolate.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the call finished.</exception>
    public Task<TResult> CallAsync<T1, T2, T3, T4, TResult>(Func<T1, T2, T3, T4, TResult> function, T1 arg1, T2 arg2, T3 arg3, T4 arg4, CancellationToken cancellationToken = default) =>
        Dispatch<Args4<T1, T2, T3, T4>, TResult>(function, ResultShape.Value, new Args4<T1, T2, T3, T4>(arg1, arg2, arg3, arg4), static (d, a) => ((Func<T1, T2, T3, T4, TResult>)d)(a.A1, a.A2, a.A3, a.A4), cancellationToken);

    /// <summary>Runs <paramref name="function"/>, which is async and returns a value, inside this isolate with 4 arguments.</summary>
    /// <remarks>
    /// The runtime finds the same method in the isolate's own copy of its assembly and runs it on the isolate's
    /// thread, where static fields are the isolate's own. Arguments and the result cross as copies: immutable
    /// framework values as they are, everything else encoded and rebuilt as the receiver's own types.
    /// </remarks>
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
    /// <param name="cancellationToken">Cancels the call: the returned task completes as cancelled at once, and a
    /// <see cref="CancellationToken"/> parameter of the function (if any) is cancelled inside the isolate.</param>
    /// <returns>The function's result, rebuilt as the caller's type.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="function"/> is null.</exception>
    /// <exception cref="NotShareableException">(in the task) The function captures state, or a type is not shareable.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The function threw inside the isolate.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the call finished.</exception>
    [OverloadResolutionPriority(1)] // async lambdas would otherwise be ambiguous between Task and ValueTask
    public Task<TResult> CallAsync<T1, T2, T3, T4, TResult>(Func<T1, T2, T3, T4, Task<TResult>> function, T1 arg1, T2 arg2, T3 arg3, T4 arg4, CancellationToken cancellationToken = default) =>
        Dispatch<Args4<T1, T2, T3, T4>, TResult>(function, ResultShape.TaskOfT, new Args4<T1, T2, T3, T4>(arg1, arg2, arg3, arg4), static (d, a) => ((Func<T1, T2, T3, T4, Task<TResult>>)d)(a.A1, a.A2, a.A3, a.A4), cancellationToken);

    /// <summary>Runs <paramref name="function"/>, which returns a value through a ValueTask, inside this isolate with 4 arguments.</summary>
    /// <remarks>
    /// The runtime finds the same method in the isolate's own copy of its assembly and runs it on the isolate's
    /// thread, where static fields are the isolate's own. Arguments and the result cross as copies: immutable
    /// framework values as they are, everything else encoded and rebuilt as the receiver's own types.
    /// </remarks>
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
    /// <param name="cancellationToken">Cancels the call: the returned task completes as cancelled at once, and a
    /// <see cref="CancellationToken"/> parameter of the function (if any) is cancelled inside the isolate.</param>
    /// <returns>The function's result, rebuilt as the caller's type.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="function"/> is null.</exception>
    /// <exception cref="NotShareableException">(in the task) The function captures state, or a type is not shareable.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The function threw inside the isolate.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the call finished.</exception>
    public Task<TResult> CallAsync<T1, T2, T3, T4, TResult>(Func<T1, T2, T3, T4, ValueTask<TResult>> function, T1 arg1, T2 arg2, T3 arg3, T4 arg4, CancellationToken cancellationToken = default) =>
        Dispatch<Args4<T1, T2, T3, T4>, TResult>(function, ResultShape.ValueTaskOfT, new Args4<T1, T2, T3, T4>(arg1, arg2, arg3, arg4), static (d, a) => ((Func<T1, T2, T3, T4, ValueTask<TResult>>)d)(a.A1, a.A2, a.A3, a.A4), cancellationToken);

    /// <summary>Runs <paramref name="function"/>, which is async and returns nothing, inside this isolate with 4 arguments.</summary>
    /// <remarks>
    /// The runtime finds the same method in the isolate's own copy of its assembly and runs it on the isolate's
    /// thread, where static fields are the isolate's own. Arguments and the result cross as copies: immutable
    /// framework values as they are, everything else encoded and rebuilt as the receiver's own types.
    /// </remarks>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <typeparam name="T2">The type of the second argument; must be shareable.</typeparam>
    /// <typeparam name="T3">The type of the third argument; must be shareable.</typeparam>
    /// <typeparam name="T4">The type of the fourth argument; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="arg2">The second argument, copied into the isolate.</param>
    /// <param name="arg3">The third argument, copied into the isolate.</param>
    /// <param name="arg4">The fourth argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call: the returned task completes as cancelled at once, and a
    /// <see cref="CancellationToken"/> parameter of the function (if any) is cancelled inside the isolate.</param>
    /// <returns>A task that completes when the function has finished in the isolate.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="function"/> is null.</exception>
    /// <exception cref="NotShareableException">(in the task) The function captures state, or a type is not shareable.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The function threw inside the isolate.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the call finished.</exception>
    [OverloadResolutionPriority(1)] // async lambdas would otherwise be ambiguous between Task and ValueTask
    public Task CallAsync<T1, T2, T3, T4>(Func<T1, T2, T3, T4, Task> function, T1 arg1, T2 arg2, T3 arg3, T4 arg4, CancellationToken cancellationToken = default) =>
        Dispatch<Args4<T1, T2, T3, T4>, Unit>(function, ResultShape.Task, new Args4<T1, T2, T3, T4>(arg1, arg2, arg3, arg4), static (d, a) => ((Func<T1, T2, T3, T4, Task>)d)(a.A1, a.A2, a.A3, a.A4), cancellationToken);

    /// <summary>Runs <paramref name="function"/>, which returns nothing through a ValueTask, inside this isolate with 4 arguments.</summary>
    /// <remarks>
    /// The runtime finds the same method in the isolate's own copy of its assembly and runs it on the isolate's
    /// thread, where static fields are the isolate's own. Arguments and the result cross as copies: immutable
    /// framework values as they are, everything else encoded and rebuilt as the receiver's own types.
    /// </remarks>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <typeparam name="T2">The type of the second argument; must be shareable.</typeparam>
    /// <typeparam name="T3">The type of the third argument; must be shareable.</typeparam>
    /// <typeparam name="T4">The type of the fourth argument; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="arg2">The second argument, copied into the isolate.</param>
    /// <param name="arg3">The third argument, copied into the isolate.</param>
    /// <param name="arg4">The fourth argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call: the returned task completes as cancelled at once, and a
    /// <see cref="CancellationToken"/> parameter of the function (if any) is cancelled inside the isolate.</param>
    /// <returns>A task that completes when the function has finished in the isolate.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="function"/> is null.</exception>
    /// <exception cref="NotShareableException">(in the task) The function captures state, or a type is not shareable.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The function threw inside the isolate.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the call finished.</exception>
    public Task CallAsync<T1, T2, T3, T4>(Func<T1, T2, T3, T4, ValueTask> function, T1 arg1, T2 arg2, T3 arg3, T4 arg4, CancellationToken cancellationToken = default) =>
        Dispatch<Args4<T1, T2, T3, T4>, Unit>(function, ResultShape.ValueTask, new Args4<T1, T2, T3, T4>(arg1, arg2, arg3, arg4), static (d, a) => ((Func<T1, T2, T3, T4, ValueTask>)d)(a.A1, a.A2, a.A3, a.A4), cancellationToken);

    /// <summary>Runs <paramref name="function"/>, which returns nothing, inside this isolate with 4 arguments.</summary>
    /// <remarks>
    /// The runtime finds the same method in the isolate's own copy of its assembly and runs it on the isolate's
    /// thread, where static fields are the isolate's own. Arguments and the result cross as copies: immutable
    /// framework values as they are, everything else encoded and rebuilt as the receiver's own types.
    /// </remarks>
    /// <typeparam name="T1">The type of the first argument; must be shareable.</typeparam>
    /// <typeparam name="T2">The type of the second argument; must be shareable.</typeparam>
    /// <typeparam name="T3">The type of the third argument; must be shareable.</typeparam>
    /// <typeparam name="T4">The type of the fourth argument; must be shareable.</typeparam>
    /// <param name="function">A static method or a lambda that captures nothing.</param>
    /// <param name="arg1">The first argument, copied into the isolate.</param>
    /// <param name="arg2">The second argument, copied into the isolate.</param>
    /// <param name="arg3">The third argument, copied into the isolate.</param>
    /// <param name="arg4">The fourth argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Cancels the call: the returned task completes as cancelled at once, and a
    /// <see cref="CancellationToken"/> parameter of the function (if any) is cancelled inside the isolate.</param>
    /// <returns>A task that completes when the function has finished in the isolate.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="function"/> is null.</exception>
    /// <exception cref="NotShareableException">(in the task) The function captures state, or a type is not shareable.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The function threw inside the isolate.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the call finished.</exception>
    public Task CallAsync<T1, T2, T3, T4>(Action<T1, T2, T3, T4> function, T1 arg1, T2 arg2, T3 arg3, T4 arg4, CancellationToken cancellationToken = default) =>
        Dispatch<Args4<T1, T2, T3, T4>, Unit>(function, ResultShape.Void, new Args4<T1, T2, T3, T4>(arg1, arg2, arg3, arg4), static (d, a) => { ((Action<T1, T2, T3, T4>)d)(a.A1, a.A2, a.A3, a.A4); return null; }, cancellationToken);
}
