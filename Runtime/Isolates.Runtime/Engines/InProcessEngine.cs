using System.Reflection;
using System.Runtime.Loader;
using Isolates.Diagnostics;
using Isolates.Dispatcher;
using Isolates.Loader;

namespace Isolates.Engines;

/// <summary>
/// The in-process placement: a collectible load context and one dedicated thread that runs the isolate's work queue
/// under the isolate's single-threaded synchronization context. Calls, chunks, the synchronization context and the
/// watchdog work on this type; the <see cref="Isolate"/> facade keeps identity and life cycle.
/// </summary>
internal sealed partial class InProcessEngine : IsolateEngine
{
    [ThreadStatic]
    private static InProcessEngine? t_current;

    private readonly WorkQueue _queue = new();
    private readonly IsolateSynchronizationContext _synchronizationContext;
    private readonly TaskCompletionSource _threadExited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly WeakReference _contextReference;
    private IsolateLoadContext? _context;
    private Thread? _thread;
    private WorkItem? _running; // described only when someone asks (a stuck close): no string work per item

    public InProcessEngine(Isolate owner, IsolateOptions options)
        : base(owner)
    {
        _synchronizationContext = new IsolateSynchronizationContext(_queue, this);
        _contextReference = CreateContext(options, owner.Name, owner, out _context);
    }

    /// <summary>The engine whose thread this is, or null.</summary>
    public static InProcessEngine? OnThisThread => t_current;

    /// <summary>Whether the calling thread is this isolate's own thread (not merely code of this isolate on the pool).</summary>
    public bool IsOwnThread => t_current == this;

    /// <inheritdoc />
    public override int QueueLength => _queue.Count;

    /// <summary>The isolate's context (until it is unloaded).</summary>
    public IsolateLoadContext LoadContext => _context ?? throw new InvalidOperationException($"Isolate '{Owner.Name}' has no load context (it is closed).");

    /// <summary>Queues a callback on the isolate's thread (as its synchronization context's Post does).</summary>
    public void Post(SendOrPostCallback callback, object? state) => _queue.Enqueue(new PostedCallback(callback, state));

    /// <summary>
    /// In a child process: from its next idle moment on, the isolate's thread waits through <paramref name="idle"/> (it
    /// reads the pipe itself, so a call runs on the thread that received it). Set on the isolate's own thread, as the
    /// queue requires; queued behind whatever is queued now.
    /// </summary>
    public void WaitWhenIdle(IdleWait idle) => Post(static s => { var (queue, wait) = ((WorkQueue, IdleWait))s!; queue.SetIdleWait(wait); }, (_queue, idle));

    /// <summary>Queues a work item, or abandons it at once if the isolate is stopping.</summary>
    public void Enqueue(WorkItem item)
    {
        if (Owner.StopRequested)
        {
            item.Abandon(Owner.ClosedReason("before the call was made"));
            return;
        }

        Interleave.Point("isolate.enqueue.open");
        _queue.Enqueue(item);
    }

    /// <summary>Posts the runtime's own continuation of an async call: never waited for on this thread, so not a deadlock sign.</summary>
    public void PostBookkeeping(Action continuation) =>
        _queue.Enqueue(new PostedCallback(static state => ((Action)state!)(), continuation) { Awaitable = false });

    /// <summary>Posts the runtime's own bookkeeping item (the end of an async call); never waited for on this thread.</summary>
    public void PostBookkeeping(WorkItem item)
    {
        System.Diagnostics.Debug.Assert(!item.MayBeAwaited, "bookkeeping is never awaited by isolate code");
        _queue.Enqueue(item);
    }

    /// <inheritdoc />
    public override ValueTask StartAsync(CancellationToken cancellationToken)
    {
        var thread = new Thread(ThreadMain, Owner.Options.MaxStackSize)
        {
            IsBackground = true, // a stuck isolate must not keep the process alive
            Name = $"isolate:{Owner.Name}",
        };
        _thread = thread;

        // No execution context flows into the isolate or into the runtime's own continuations: nothing of the
        // creator's (AsyncLocals, its own isolate's contextual-reflection scope) leaks in or is kept alive.
        using (ExecutionContext.IsFlowSuppressed() ? default : ExecutionContext.SuppressFlow())
        {
            _ = _threadExited.Task.ContinueWith(static (_, s) => ((InProcessEngine)s!).OnThreadExited(), this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            try
            {
                Interleave.Point("isolate.thread.starting"); // tests make the start fail here (no real way to run out of threads)
                thread.Start();
            }
            catch
            {
                // The isolate is listed and may have been called or closed already: it ends the way a stopped thread
                // ends it (queued calls fail, Completion, Exited and the unload check complete, the watchdog lets go).
                Owner.RequestStop();
                _threadExited.TrySetResult();
                throw;
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public override void PrepareSpare() => Post(static s => ((InProcessEngine)s!).PreloadEntryAssembly(), this);

    /// <inheritdoc />
    public override void Adopt(IsolateOptions options) => RenameThread();

    /// <summary>Names the isolate's thread after the isolate (cosmetic: a name already set once cannot fail the hand-out).</summary>
    public void RenameThread()
    {
        try
        {
            if (_thread is { } thread)
            {
                thread.Name = $"isolate:{Owner.Name}";
            }
        }
        catch (InvalidOperationException)
        {
            // the thread's name is cosmetic
        }
    }

    private void ThreadMain()
    {
        t_current = this;
        TurnEnd.Begin();
        SynchronizationContext.SetSynchronizationContext(_synchronizationContext);
        AssemblyLoadContext.ContextualReflectionScope scope = _context!.EnterContextualReflection();
        Isolate owner = Owner;
        try
        {
            Interleave.Point("isolate.thread.entered"); // Isolate.CreateAsync has returned; the isolate is still Starting
            owner.TransitionTo(IsolateState.Running, from: [IsolateState.Starting]);
            owner.TryLog(static (logger, isolate, _) => Log.Started(logger, isolate.Name, isolate.Id));
            RunLoop();
            DisposeObjects(); // a graceful close disposes the objects still here, on this thread, after the queue drained
            SampleThread(); // the final figures, read on this thread while it still can
        }
        catch (Exception ex)
        {
            owner.Fault(ex); // only the runtime's own code runs here outside an item; never let it take the process down
        }
        finally
        {
            try
            {
                TurnEnd.End(); // room given back by the last turn's reads must still reach blocked writers
            }
            catch (Exception ex)
            {
                owner.Fault(ex);
            }

            owner.RequestStop();
            scope.Dispose();
            SynchronizationContext.SetSynchronizationContext(null);
            t_current = null;
            _threadExited.TrySetResult();
        }
    }

    private void RunLoop()
    {
        // One item per frame of RunNext: the loop's own frame would keep the last item referenced while the queue waits
        // (unoptimized code keeps every temporary alive for the whole method), and an item may be a call from another
        // isolate, generic over that isolate's types: an idle isolate would keep a closed caller's context loaded.
        while (RunNext())
        {
        }
    }

    /// <summary>Takes and runs one item; false once the queue is closed and empty.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private bool RunNext()
    {
        if (_queue.Dequeue() is not { } item)
        {
            return false;
        }

        Isolate owner = Owner;
        Interleave.Point("isolate.loop.dequeued");
        if (owner.StopRequested)
        {
            _queue.Drop(item, owner.ClosedReason("before it ran"));
            return true; // the queue is closed: drain what is left, then Dequeue returns null
        }

        // Isolate code may have replaced the synchronization context; every item starts with the isolate's own.
        if (SynchronizationContext.Current != _synchronizationContext)
        {
            SynchronizationContext.SetSynchronizationContext(_synchronizationContext);
        }

        _running = item;
        try
        {
            item.Execute();
        }
        catch (Exception ex)
        {
            owner.Fault(ex); // escaped isolate code outside any call: an async void method, a posted callback
        }

        _running = null;
        ClearInterruptIfDeadlocked();
        try
        {
            TurnEnd.Run(); // e.g. channel writers this turn's reads made room for
        }
        catch (Exception ex)
        {
            owner.Fault(ex);
        }

        return true;
    }

    /// <summary>Loads the application's own assembly ahead of the first call, where most called functions live.</summary>
    private void PreloadEntryAssembly()
    {
        if (Assembly.GetEntryAssembly() is { } entry && _context is { } context && !SharingPolicy.IsShared(entry, context.ExtraShared))
        {
            try
            {
                context.LoadFromAssemblyName(entry.GetName());
            }
            catch (Exception ex) when (ex is FileNotFoundException or FileLoadException or BadImageFormatException)
            {
                // nothing to gain; the first call loads what it needs
            }
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static WeakReference CreateContext(IsolateOptions options, string name, Isolate owner, out IsolateLoadContext? context)
    {
        var created = IsolateLoadContext.Create(name, options.Collectible, options.SharedAssemblies);
        created.Owner = owner;
        context = created;
        return new WeakReference(created, trackResurrection: false);
    }
}
