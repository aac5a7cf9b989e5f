using System.Reflection;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;

namespace Isolates.Hosting.Workers;

/// <summary>
/// The code that runs INSIDE a supervised isolate. Isolates.Hosting is shared with isolates (see the sharing
/// policy), so these methods live once in the process, and the runtime instantiates them over the isolate's own
/// copy of the worker type: the worker's statics are the isolate's. Awaits here keep the isolate's synchronization
/// context on purpose (no ConfigureAwait(false)): the worker's code must go on running on the isolate's thread.
/// </summary>
internal static class WorkerEntry
{
    /// <summary>Constructs the worker in the isolate and parks it until <see cref="RunAsync{TWorker}"/> takes it.</summary>
    public static void Create<TWorker>()
        where TWorker : class
        => Slot<TWorker>.Instance = (TWorker)Construct(typeof(TWorker), [], []);

    /// <summary>Constructs the worker with its argument (already the isolate's own copy of the value).</summary>
    public static void Create<TWorker, TArgument>(TArgument argument)
        where TWorker : class
        => Slot<TWorker>.Instance = (TWorker)Construct(typeof(TWorker), [typeof(TArgument)], [argument]);

    /// <summary>
    /// Runs the parked worker's <c>RunAsync</c>. Its token is cancelled when <paramref name="stop"/> completes (the host
    /// stops it) or the isolate closes. Disposes the worker afterwards if it is disposable.
    /// </summary>
    public static async Task RunAsync<TWorker>(ChannelReader<int> stop, CancellationToken cancellationToken)
        where TWorker : class
    {
        TWorker worker = Slot<TWorker>.Instance ?? throw new InvalidOperationException($"No {typeof(TWorker).Name} was constructed in this isolate before it was run.");
        Slot<TWorker>.Instance = null;
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task watcher = WatchStopAsync(stop, stopping);
        try
        {
            MethodInfo entry = WorkerShape.FindEntryPoint(worker.GetType())!;
            object? returned = Invoke(entry, worker, [stopping.Token]);
            await (returned is ValueTask valueTask ? valueTask.AsTask() : (Task)returned!);
        }
        finally
        {
            stopping.Cancel(); // ends the watcher
            await watcher;
            switch (worker)
            {
                case IAsyncDisposable asyncDisposable:
                    await asyncDisposable.DisposeAsync();
                    break;
                case IDisposable disposable:
                    disposable.Dispose();
                    break;
            }
        }
    }

    private static async Task WatchStopAsync(ChannelReader<int> stop, CancellationTokenSource stopping)
    {
        try
        {
            while (await stop.WaitToReadAsync(stopping.Token))
            {
                stop.TryRead(out _);
            }
        }
        catch (OperationCanceledException)
        {
            return; // the worker finished first
        }
        catch (ChannelClosedException)
        {
            // completed with an error: still a stop request
        }

        // Cancel (not CancelAsync): the worker's own registrations on its token run here, on the isolate's thread.
        stopping.Cancel();
    }

    private static object Construct(Type type, Type[] parameterTypes, object?[] arguments)
    {
        ConstructorInfo constructor = type.GetConstructor(BindingFlags.Public | BindingFlags.Instance, parameterTypes)
            ?? throw new MissingMethodException($"Worker type '{type.FullName}' has no public constructor for its arguments.");
        return Invoke(constructor, null, arguments)!;
    }

    /// <summary>Invokes through reflection, rethrowing the worker's own exception rather than a TargetInvocationException.</summary>
    private static object? Invoke(MethodBase method, object? target, object?[] arguments)
    {
        try
        {
            return method is ConstructorInfo constructor ? constructor.Invoke(arguments) : method.Invoke(target, arguments);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            ExceptionDispatchInfo.Throw(ex.InnerException);
            throw;
        }
    }

    /// <summary>
    /// Holds a constructed worker between the two calls. Instantiated over the isolate's own worker type, so its
    /// static field belongs to that isolate (and unloads with it).
    /// </summary>
    private static class Slot<TWorker>
        where TWorker : class
    {
        [ThreadStatic]
        public static TWorker? Instance;
    }
}
