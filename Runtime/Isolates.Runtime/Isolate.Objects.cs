using System.Reflection;
using Isolates.CompilerServices;
using Isolates.Diagnostics;
using Isolates.Proxies;

namespace Isolates;

/// <summary>
/// Objects living in an isolate, reached through generated proxies (issue 15). Calls to them ride the ordinary call
/// path (<c>CallAsync</c> of a generated static stub with the object's id), so ordering, cancellation, errors, telemetry,
/// queue bounds and child-process placement are those of calls.
/// </summary>
public sealed partial class Isolate
{
    /// <summary>This isolate's objects; created on first use, on the isolate's thread; cleared when the isolate stops.</summary>
    private ObjectTable? _objects;

    /// <summary>
    /// Constructs a <typeparamref name="TImpl"/> inside this isolate (its public parameterless constructor runs on the
    /// isolate's thread) and returns a proxy to it. The object stays in the isolate; every call through the proxy runs on
    /// the isolate's thread, one at a time, in the order the calls were made, like any call to the isolate.
    /// </summary>
    /// <remarks>
    /// The proxy is shareable: pass it to other isolates (as an argument, a result, or through a channel) and they get
    /// their own proxy to the same object. The object lives until <see cref="ReleaseAsync(object)"/>, until this isolate
    /// closes, or until no proxy to it is referenced anywhere in the process (then it is released and, if disposable,
    /// disposed in the isolate after the calls already made). Calls after that fail with <see cref="IsolateClosedException"/>
    /// naming the object. An exception thrown by the object reaches the caller as <see cref="IsolateExecutionException"/>,
    /// and the object stays usable.
    /// <para>
    /// When the isolate closes gracefully (<see cref="CloseAsync"/>), the objects still in it are disposed
    /// (<see cref="IAsyncDisposable"/> or <see cref="IDisposable"/>), newest first, on the isolate's thread, once the code
    /// running there has returned and the calls still queued have failed, like a DI container's singletons. Its
    /// <see cref="ClosingToken"/> is cancelled by then, so calls a Dispose makes to other isolates or host services fail
    /// with <see cref="IsolateClosedException"/>. Disposal counts against <see cref="IsolateOptions.CloseTimeout"/>: when
    /// it runs out the isolate is reported stuck, a DisposeAsync still awaiting is left unfinished and the remaining
    /// objects are dropped (a Dispose that blocks the thread holds it like any stuck code; a thread that was stuck in a
    /// call and returns after the close gave up disposes nothing). A Dispose that throws is
    /// logged (event 14, ObjectDisposeFailedAtClose) and the others are still disposed. A faulted isolate disposes nothing.
    /// </para>
    /// </remarks>
    /// <typeparam name="TInterface">An interface marked <see cref="IsolateInterfaceAttribute"/>, built with the Isolates source generator.</typeparam>
    /// <typeparam name="TImpl">The class to construct; it has a public constructor taking exactly no parameters.</typeparam>
    /// <param name="cancellationToken">Stops waiting; an object constructed anyway is released.</param>
    /// <returns>A proxy to the object, implementing <typeparamref name="TInterface"/>.</returns>
    /// <exception cref="ArgumentException"><typeparamref name="TInterface"/> has no generated proxy, or <typeparamref name="TImpl"/> has no such constructor.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The constructor threw inside the isolate.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the object was constructed.</exception>
    public Task<TInterface> CreateObjectAsync<TInterface, TImpl>(CancellationToken cancellationToken = default)
        where TInterface : class
        where TImpl : class, TInterface
    {
        ProxyFactory factory = CheckObjectTypes(typeof(TInterface), typeof(TImpl), []);
        return cancellationToken.IsCancellationRequested
            ? Task.FromCanceled<TInterface>(cancellationToken)
            : CreatedAsync<TInterface>(factory, CallAsync(ObjectConstruction.Create<TImpl>), cancellationToken);
    }

    /// <summary>Constructs a <typeparamref name="TImpl"/> inside this isolate with constructor arguments and returns a proxy to it.</summary>
    /// <inheritdoc cref="CreateObjectAsync{TInterface, TImpl}(CancellationToken)" path="/remarks"/>
    /// <typeparam name="TInterface">An interface marked <see cref="IsolateInterfaceAttribute"/>, built with the Isolates source generator.</typeparam>
    /// <typeparam name="TImpl">The class to construct; it has a public constructor taking exactly (T1).</typeparam>
    /// <typeparam name="T1">The type of the constructor's first parameter; must be shareable.</typeparam>
    /// <param name="arg1">The constructor's first argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Stops waiting; an object constructed anyway is released.</param>
    /// <returns>A proxy to the object, implementing <typeparamref name="TInterface"/>.</returns>
    /// <exception cref="ArgumentException"><typeparamref name="TInterface"/> has no generated proxy, or <typeparamref name="TImpl"/> has no such constructor.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The constructor threw inside the isolate.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the object was constructed.</exception>
    public Task<TInterface> CreateObjectAsync<TInterface, TImpl, T1>(T1 arg1, CancellationToken cancellationToken = default)
        where TInterface : class
        where TImpl : class, TInterface
    {
        ProxyFactory factory = CheckObjectTypes(typeof(TInterface), typeof(TImpl), [typeof(T1)]);
        return cancellationToken.IsCancellationRequested
            ? Task.FromCanceled<TInterface>(cancellationToken)
            : CreatedAsync<TInterface>(factory, CallAsync(ObjectConstruction.Create<TImpl, T1>, arg1), cancellationToken);
    }

    /// <summary>Constructs a <typeparamref name="TImpl"/> inside this isolate with constructor arguments and returns a proxy to it.</summary>
    /// <inheritdoc cref="CreateObjectAsync{TInterface, TImpl}(CancellationToken)" path="/remarks"/>
    /// <typeparam name="TInterface">An interface marked <see cref="IsolateInterfaceAttribute"/>, built with the Isolates source generator.</typeparam>
    /// <typeparam name="TImpl">The class to construct; it has a public constructor taking exactly (T1, T2).</typeparam>
    /// <typeparam name="T1">The type of the constructor's first parameter; must be shareable.</typeparam>
    /// <typeparam name="T2">The type of the constructor's second parameter; must be shareable.</typeparam>
    /// <param name="arg1">The constructor's first argument, copied into the isolate.</param>
    /// <param name="arg2">The constructor's second argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Stops waiting; an object constructed anyway is released.</param>
    /// <returns>A proxy to the object, implementing <typeparamref name="TInterface"/>.</returns>
    /// <exception cref="ArgumentException"><typeparamref name="TInterface"/> has no generated proxy, or <typeparamref name="TImpl"/> has no such constructor.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The constructor threw inside the isolate.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the object was constructed.</exception>
    public Task<TInterface> CreateObjectAsync<TInterface, TImpl, T1, T2>(T1 arg1, T2 arg2, CancellationToken cancellationToken = default)
        where TInterface : class
        where TImpl : class, TInterface
    {
        ProxyFactory factory = CheckObjectTypes(typeof(TInterface), typeof(TImpl), [typeof(T1), typeof(T2)]);
        return cancellationToken.IsCancellationRequested
            ? Task.FromCanceled<TInterface>(cancellationToken)
            : CreatedAsync<TInterface>(factory, CallAsync(ObjectConstruction.Create<TImpl, T1, T2>, arg1, arg2), cancellationToken);
    }

    /// <summary>Constructs a <typeparamref name="TImpl"/> inside this isolate with constructor arguments and returns a proxy to it.</summary>
    /// <inheritdoc cref="CreateObjectAsync{TInterface, TImpl}(CancellationToken)" path="/remarks"/>
    /// <typeparam name="TInterface">An interface marked <see cref="IsolateInterfaceAttribute"/>, built with the Isolates source generator.</typeparam>
    /// <typeparam name="TImpl">The class to construct; it has a public constructor taking exactly (T1, T2, T3).</typeparam>
    /// <typeparam name="T1">The type of the constructor's first parameter; must be shareable.</typeparam>
    /// <typeparam name="T2">The type of the constructor's second parameter; must be shareable.</typeparam>
    /// <typeparam name="T3">The type of the constructor's third parameter; must be shareable.</typeparam>
    /// <param name="arg1">The constructor's first argument, copied into the isolate.</param>
    /// <param name="arg2">The constructor's second argument, copied into the isolate.</param>
    /// <param name="arg3">The constructor's third argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Stops waiting; an object constructed anyway is released.</param>
    /// <returns>A proxy to the object, implementing <typeparamref name="TInterface"/>.</returns>
    /// <exception cref="ArgumentException"><typeparamref name="TInterface"/> has no generated proxy, or <typeparamref name="TImpl"/> has no such constructor.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The constructor threw inside the isolate.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the object was constructed.</exception>
    public Task<TInterface> CreateObjectAsync<TInterface, TImpl, T1, T2, T3>(T1 arg1, T2 arg2, T3 arg3, CancellationToken cancellationToken = default)
        where TInterface : class
        where TImpl : class, TInterface
    {
        ProxyFactory factory = CheckObjectTypes(typeof(TInterface), typeof(TImpl), [typeof(T1), typeof(T2), typeof(T3)]);
        return cancellationToken.IsCancellationRequested
            ? Task.FromCanceled<TInterface>(cancellationToken)
            : CreatedAsync<TInterface>(factory, CallAsync(ObjectConstruction.Create<TImpl, T1, T2, T3>, arg1, arg2, arg3), cancellationToken);
    }

    /// <summary>Constructs a <typeparamref name="TImpl"/> inside this isolate with constructor arguments and returns a proxy to it.</summary>
    /// <inheritdoc cref="CreateObjectAsync{TInterface, TImpl}(CancellationToken)" path="/remarks"/>
    /// <typeparam name="TInterface">An interface marked <see cref="IsolateInterfaceAttribute"/>, built with the Isolates source generator.</typeparam>
    /// <typeparam name="TImpl">The class to construct; it has a public constructor taking exactly (T1, T2, T3, T4).</typeparam>
    /// <typeparam name="T1">The type of the constructor's first parameter; must be shareable.</typeparam>
    /// <typeparam name="T2">The type of the constructor's second parameter; must be shareable.</typeparam>
    /// <typeparam name="T3">The type of the constructor's third parameter; must be shareable.</typeparam>
    /// <typeparam name="T4">The type of the constructor's fourth parameter; must be shareable.</typeparam>
    /// <param name="arg1">The constructor's first argument, copied into the isolate.</param>
    /// <param name="arg2">The constructor's second argument, copied into the isolate.</param>
    /// <param name="arg3">The constructor's third argument, copied into the isolate.</param>
    /// <param name="arg4">The constructor's fourth argument, copied into the isolate.</param>
    /// <param name="cancellationToken">Stops waiting; an object constructed anyway is released.</param>
    /// <returns>A proxy to the object, implementing <typeparamref name="TInterface"/>.</returns>
    /// <exception cref="ArgumentException"><typeparamref name="TInterface"/> has no generated proxy, or <typeparamref name="TImpl"/> has no such constructor.</exception>
    /// <exception cref="IsolateExecutionException">(in the task) The constructor threw inside the isolate.</exception>
    /// <exception cref="IsolateClosedException">(in the task) The isolate closed before the object was constructed.</exception>
    public Task<TInterface> CreateObjectAsync<TInterface, TImpl, T1, T2, T3, T4>(T1 arg1, T2 arg2, T3 arg3, T4 arg4, CancellationToken cancellationToken = default)
        where TInterface : class
        where TImpl : class, TInterface
    {
        ProxyFactory factory = CheckObjectTypes(typeof(TInterface), typeof(TImpl), [typeof(T1), typeof(T2), typeof(T3), typeof(T4)]);
        return cancellationToken.IsCancellationRequested
            ? Task.FromCanceled<TInterface>(cancellationToken)
            : CreatedAsync<TInterface>(factory, CallAsync(ObjectConstruction.Create<TImpl, T1, T2, T3, T4>, arg1, arg2, arg3, arg4), cancellationToken);
    }

    /// <summary>
    /// Releases the object behind <paramref name="proxy"/> in its isolate: it is removed from the isolate's table after
    /// the calls already made to it, and disposed there if it implements <see cref="IAsyncDisposable"/> or
    /// <see cref="IDisposable"/>. Every proxy of it, in every isolate, then fails with <see cref="IsolateClosedException"/>.
    /// Releasing again returns the first release's task (it completes when the object is gone); after the isolate closed it
    /// does nothing (the close disposed the objects still there; see <see cref="CreateObjectAsync{TInterface, TImpl}(CancellationToken)"/>).
    /// </summary>
    /// <param name="proxy">A proxy from <see cref="CreateObjectAsync{TInterface, TImpl}(CancellationToken)"/> (or one passed to this code).</param>
    /// <returns>A task that completes when the object is gone (faulted with <see cref="IsolateExecutionException"/> if its Dispose threw).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="proxy"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="proxy"/> is not a proxy of an object living in an isolate.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="proxy"/> is a host service, which belongs to the host.</exception>
    public static Task ReleaseAsync(object proxy)
    {
        ArgumentNullException.ThrowIfNull(proxy);
        if (proxy is not IIsolateProxy { Reference: { } reference })
        {
            throw new ArgumentException(
                $"{proxy.GetType()} is not a proxy of an object living in an isolate; pass what Isolate.CreateObjectAsync returned (or a proxy passed to this code).", nameof(proxy));
        }

        return ReleaseReferenceAsync(reference);
    }

    /// <summary>Releases the object behind <paramref name="reference"/> (see <see cref="ReleaseAsync(object)"/>).</summary>
    internal static Task ReleaseReferenceAsync(ObjectReference reference)
    {
        if (reference.Route is Processes.ChildObjects remote)
        {
            return remote.ReleaseAsync(reference); // an object of the host, from a child process: released there
        }

        if (reference.Owner is not { } owner)
        {
            throw new InvalidOperationException(
                $"{reference.Description} belongs to the host (IsolateOptions.HostServices) and lives as long as the host keeps it; there is nothing to release.");
        }

        if (reference.TryBeginRelease(out TaskCompletionSource releasing))
        {
            // An object a child process's code sent here: the child marks its own reference released too.
            Task release = reference.RouteState is ObjectReference.IImported
                ? owner.ReleaseObjectAsync(reference.Id, Processes.ChildObjects.ReleaseForHostAsync)
                : owner.ReleaseObjectAsync(reference.Id);
            _ = release.ContinueWith(
                static (released, state) => ((TaskCompletionSource)state!).TrySetFromTask(released),
                releasing, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        return releasing.Task; // a second release waits for the first: the object is gone when either completes
    }

    /// <summary>
    /// A proxy to the host service registered for <typeparamref name="T"/> in this isolate's
    /// <see cref="IsolateOptions.HostServices"/>: an object that stays in the host. For isolate code
    /// (<c>Isolate.Current!.GetHostService&lt;T&gt;()</c>). Calls through it run on the host's thread pool, several at a time
    /// (see <see cref="IsolateHostServices"/>); the proxy may be passed to other isolates like any proxy.
    /// </summary>
    /// <typeparam name="T">The [IsolateInterface] interface the service was added under (this code's copy of it).</typeparam>
    /// <returns>A proxy implementing <typeparamref name="T"/>.</returns>
    /// <exception cref="ArgumentException"><typeparamref name="T"/> is not an [IsolateInterface] interface with a generated proxy.</exception>
    /// <exception cref="InvalidOperationException">No service of <typeparamref name="T"/> was added to this isolate's options.</exception>
    public T GetHostService<T>()
        where T : class
    {
        Type type = typeof(T);
        ProxyFactory factory = ProxyFactory.TryFor(type, out string? reason) ?? throw new ArgumentException(reason, nameof(T));
        ObjectReference reference = _options.HostServices?.Find(type)
            ?? throw new InvalidOperationException(
                $"Isolate '{Name}' ({Id}) has no host service of {type}: add one to its options with HostServices = new IsolateHostServices().Add<{type.Name}>(service)"
                + " (for a pool, in IsolatePoolOptions.IsolateOptions).");
        return (T)factory.Create(reference);
    }

    /// <summary>How many objects live in this isolate (for tests and diagnostics).</summary>
    internal int ObjectCount => Volatile.Read(ref _objects)?.Count ?? 0;

    /// <summary>On the isolate's thread: adds an object constructed for <see cref="CreateObjectAsync{TInterface, TImpl}(CancellationToken)"/>.</summary>
    internal long AddObject(object value)
    {
        ObjectTable? table = _objects;
        if (table is null)
        {
            table = new ObjectTable();
            _objects = table;

            // The table references the isolate's objects, and the isolate is referenced by every proxy's ObjectReference:
            // once the isolate has stopped, the table lets go of them, or a proxy kept anywhere would pin the context.
            _ = Completion.ContinueWith(static (_, state) => ((ObjectTable)state!).Clear(), table, CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        return table.TryAdd(value, out long id)
            ? id
            : throw new IsolateClosedException(Id, Name, $"Isolate '{Name}' ({Id}) stopped while the object was being created.");
    }

    /// <summary>On the isolate's thread: the object a stub calls, or IsolateClosedException naming it (a call that raced with its release).</summary>
    internal object ObjectFor(long id, Type expected) =>
        _objects?.Find(id) ?? throw new IsolateClosedException(Id, Name,
            $"Object {id} ({expected.FullName}) in isolate '{Name}' ({Id}) was released before this call ran (the call was made while Isolate.ReleaseAsync was releasing it).");

    /// <summary>
    /// On the isolate's thread, as it closes gracefully (its queue drained): takes every object out, newest first, for the
    /// engine to dispose. Objects created later fail to be added; objects already released are not there.
    /// </summary>
    internal KeyValuePair<long, object>[] TakeObjectsToDispose() => _objects?.TakeAll() ?? [];

    /// <summary>An object's Dispose/DisposeAsync threw while its isolate closed: logged (in its remote form, which pins nothing), and the close goes on.</summary>
    /// <summary>On the isolate's thread: the disposal at close stopped with objects left (its time ran out, or the isolate faulted).</summary>
    internal void LogObjectsNotDisposedAtClose(int count, string reason) => Log.ObjectsNotDisposedAtClose(_logger, Name, Id, count, reason);

    internal void LogDisposeFailedAtClose(long id, object value, Exception error) =>
        Log.ObjectDisposeFailedAtClose(_logger, Name, Id, id, value.GetType().FullName ?? value.GetType().Name, Errors.ExceptionTransfer.ToRemote(error, Id, Name));

    /// <summary>On the isolate's thread: removes an object; null if it is not there.</summary>
    internal object? RemoveObject(long id) => _objects?.Remove(id);

    /// <summary>From a finalizer: no proxy references the object any more, so it is released after the calls already made.</summary>
    internal void ReleaseUnreferenced(long id, string interfaceName)
    {
        if (State is IsolateState.Closing or IsolateState.Closed or IsolateState.Faulted)
        {
            return; // it went with its isolate
        }

        _ = CallAsync(ObjectConstruction.ReleaseAsync, id).ContinueWith(
            static (task, state) =>
            {
                var (isolate, objectId, name) = ((Isolate, long, string))state!;
                if (task.Exception?.InnerException is { } error and not IsolateClosedException)
                {
                    Log.UnreferencedObjectDisposeFailed(isolate._logger, isolate.Name, isolate.Id, objectId, name, error);
                }
                else if (task.IsCompletedSuccessfully)
                {
                    Log.UnreferencedObjectReleased(isolate._logger, isolate.Name, isolate.Id, objectId, name);
                }
            },
            (this, id, interfaceName), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private Task ReleaseObjectAsync(long id) => ReleaseObjectAsync(id, ObjectConstruction.ReleaseAsync);

    private async Task ReleaseObjectAsync(long id, Func<long, Task> release)
    {
        try
        {
            await CallAsync(release, id).ConfigureAwait(false);
        }
        catch (IsolateClosedException)
        {
            // the isolate stopped first, and the object went with it
        }
    }

    /// <summary>The caller's checks before anything is sent: a generated proxy exists, and so does the constructor.</summary>
    private static ProxyFactory CheckObjectTypes(Type interfaceType, Type implementation, Type[] parameterTypes)
    {
        ProxyFactory factory = ProxyFactory.TryFor(interfaceType, out string? reason) ?? throw new ArgumentException(reason, "TInterface");
        if (implementation.IsAbstract || implementation.ContainsGenericParameters)
        {
            throw new ArgumentException($"{implementation} is abstract; CreateObjectAsync constructs the class given as TImpl, so give a concrete class.", "TImpl");
        }

        if (implementation.GetConstructor(BindingFlags.Public | BindingFlags.Instance, parameterTypes) is null)
        {
            throw new ArgumentException(
                $"{implementation} has no public constructor taking ({string.Join(", ", parameterTypes.Select(t => t.Name))}); CreateObjectAsync's type arguments after TImpl are the constructor's parameter types, in order.",
                "TImpl");
        }

        return factory;
    }

    private async Task<TInterface> CreatedAsync<TInterface>(ProxyFactory factory, Task<long> creating, CancellationToken cancellationToken)
        where TInterface : class
    {
        long id;
        try
        {
            id = await creating.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The caller stopped waiting; an object constructed anyway must not stay in the isolate with no proxy to it.
            _ = creating.ContinueWith(static (task, state) =>
            {
                if (task.IsCompletedSuccessfully)
                {
                    _ = ((Isolate)state!).ReleaseObjectAsync(task.Result).ContinueWith(
                        static released => _ = released.Exception, // its Dispose threw: nobody is left to tell
                        CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                }
                else
                {
                    _ = task.Exception; // observed: the caller was told it cancelled
                }
            }, this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            throw;
        }

        return (TInterface)factory.Create(new ObjectReference(this, id, typeof(TInterface).FullName ?? typeof(TInterface).Name));
    }
}
