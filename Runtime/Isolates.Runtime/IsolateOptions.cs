using Microsoft.Extensions.Logging;

namespace Isolates;

/// <summary>
/// How an isolate is created. Every setting has a default that suits a short-lived worker, so
/// <c>new IsolateOptions()</c> is a valid choice.
/// </summary>
public sealed record IsolateOptions
{
    /// <summary>
    /// A name for logs, thread names and errors. Defaults to <c>isolate-{id}</c>. Names need not be unique.
    /// </summary>
    public string? Name { get; init; }

    /// <summary>
    /// Whether the isolate's context can be unloaded when it closes (the default). A non-collectible isolate never
    /// frees its code, but its code gets ReadyToRun images and tiered compilation, which makes it start
    /// calling faster and run hot loops faster: the better choice for long-lived pool workers.
    /// </summary>
    public bool Collectible { get; init; } = true;

    /// <summary>
    /// Simple names of extra assemblies to share with the host instead of loading a private copy in the isolate.
    /// A shared assembly has ONE set of static fields for the whole process, so share only assemblies whose
    /// statics are safe to share (or that have none). The framework, the Isolates runtime and MessagePack are
    /// always shared; see <c>docs/sharing-policy.md</c>.
    /// </summary>
    public IReadOnlyCollection<string> SharedAssemblies { get; init; } = [];

    /// <summary>
    /// How long <see cref="Isolate.CloseAsync"/> waits for code that is running on the isolate's thread to return
    /// (and then for the objects still in the isolate to be disposed) before it gives up on the thread, reports the
    /// isolate as stuck and returns. Default 10 seconds.
    /// A thread cannot be stopped from outside in .NET; see the README.
    /// </summary>
    public TimeSpan CloseTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long to keep checking that the context was collected after it was unloaded before reporting it as
    /// <see cref="UnloadStatus.Leaked"/>. Default 5 seconds. <see cref="TimeSpan.Zero"/> skips the check.
    /// </summary>
    public TimeSpan UnloadTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Whether <see cref="Isolate.CloseAsync"/> waits for the unload check to finish (the default). When false,
    /// CloseAsync returns once the thread has stopped and the check finishes in the background; observe it through
    /// <see cref="Isolate.Unloaded"/>.
    /// </summary>
    public bool WaitForUnload { get; init; } = true;

    /// <summary>Where the isolate logs its life (started, faulted, failed to unload). Defaults to no logging.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>The clock for timeouts, replaceable in tests. Defaults to <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider? TimeProvider { get; init; }

    /// <summary>Stack size of the isolate's thread in bytes; 0 (the default) uses the runtime's default.</summary>
    public int MaxStackSize { get; init; }

    /// <summary>
    /// How many calls may wait in the isolate's queue, not started yet; 0 (the default) means no limit. When the limit
    /// is reached, <c>CallAsync</c> waits asynchronously (honouring its cancellation token) until a queued call starts:
    /// backpressure for a caller that calls faster than the isolate works, instead of a queue that grows until memory
    /// runs out. A call cancelled while it waits never runs; one waiting when the isolate closes fails with
    /// <see cref="IsolateClosedException"/>. Only calls count: the continuations of the isolate's own awaits and the
    /// chunks of a pool's map (which bounds its own) never wait. For a <see cref="IsolatePlacement.ChildProcess"/> isolate
    /// the bound is on calls sent to the child and not answered yet (the running one included): the host cannot see when
    /// a call starts in the child.
    /// </summary>
    public int MaxQueuedCalls { get; init; }

    /// <summary>
    /// How long the isolate's thread may stay blocked in a synchronous wait (<c>.Result</c>, <c>.Wait()</c>,
    /// <c>GetAwaiter().GetResult()</c>, a lock, <c>Thread.Sleep</c>) within one call or callback while a continuation
    /// posted to its own queue (an <c>await</c> of its code resuming) or a call it made to itself waits behind it, before the isolate is declared
    /// deadlocked: only that thread can run the continuation, so such a wait usually never ends. The running call then
    /// fails with <see cref="IsolateDeadlockException"/> naming it, the isolate faults (queued calls fail with
    /// <see cref="IsolateClosedException"/>, a pool or supervisor replaces it) and a warning is logged (event id 10).
    /// The detector sees that the thread waits, not what it waits for: a long <c>Thread.Sleep</c> or a long wait on
    /// work elsewhere while such a continuation is pending is reported too. Default 5 seconds;
    /// <see cref="Timeout.InfiniteTimeSpan"/> turns the detector off.
    /// </summary>
    public TimeSpan BlockedThreadTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Code run inside the isolate right after it is created and before it is handed out: functions without arguments
    /// (<see cref="Action"/> or <see cref="Func{TResult}"/>, including async ones; results are discarded), in order,
    /// each under the same rules as <c>CallAsync</c>. Listing a function the isolate will be called with also
    /// prepares the runtime's side of that call, so the first real call costs what later ones do. Use it to take the one-time cost of a fresh isolate off
    /// the first request: code in a collectible context is JIT-compiled at full optimization in every isolate (no
    /// ReadyToRun, no tiering), so the first call of a library (a serializer, an ORM) costs from tens of
    /// milliseconds to seconds; a warm-up that exercises it once pays that before anyone waits. Statics it sets stay.
    /// <see cref="Isolate.CreateAsync"/> returns once every warm-up has finished; if one throws, CreateAsync fails with
    /// its error and the isolate is closed. Spares (<see cref="Isolate.KeepWarm(int, IsolateOptions?)"/>) run it in
    /// the background, and pool replacements run it too. Default: none.
    /// </summary>
    public IReadOnlyList<Delegate> WarmUp { get; init; } = [];

    /// <summary>
    /// Where the isolate runs: in this process (the default) or in a child process of its own, which can be killed,
    /// given a <see cref="MemoryLimit"/>, and whose crashes end only the child. Calls, errors and options are the same
    /// either way; see <see cref="IsolatePlacement"/> for the costs.
    /// </summary>
    public IsolatePlacement Placement { get; init; } = IsolatePlacement.InProcess;

    /// <summary>
    /// The most GC heap, in bytes, a <see cref="IsolatePlacement.ChildProcess"/> isolate may use (its runtime's hard
    /// heap limit); past it, the child reports the limit and ends, its calls fail with <see cref="IsolateClosedException"/>
    /// and <see cref="Isolate.Exited"/> says <see cref="IsolateExitReason.MemoryLimitExceeded"/>. 0 (the default) means
    /// no limit. Refused for in-process isolates, whose heap is the whole process's.
    /// </summary>
    public long MemoryLimit { get; init; }

    /// <summary>
    /// Objects of the host that this isolate's code may call through a proxy, with
    /// <c>Isolate.Current!.GetHostService&lt;T&gt;()</c>. Calls run on the host's thread pool (see
    /// <see cref="IsolateHostServices"/>). Default: none. A <see cref="IsolatePlacement.ChildProcess"/> isolate's calls of them
    /// cross its pipe and run in the host.
    /// </summary>
    public IsolateHostServices? HostServices { get; init; }

    /// <summary>The smallest memory limit accepted: below it the .NET runtime cannot start its isolate at all.</summary>
    public const long MinimumMemoryLimit = 32L * 1024 * 1024;

    internal void Validate()
    {
        if (Name is { Length: 0 })
        {
            throw new ArgumentException("IsolateOptions.Name must not be empty; leave it null to get a generated name.", nameof(Name));
        }

        if (CloseTimeout < TimeSpan.Zero && CloseTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(CloseTimeout), CloseTimeout, "IsolateOptions.CloseTimeout must be zero or positive (or Timeout.InfiniteTimeSpan).");
        }

        if (BlockedThreadTimeout <= TimeSpan.Zero && BlockedThreadTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(BlockedThreadTimeout), BlockedThreadTimeout,
                "IsolateOptions.BlockedThreadTimeout must be positive (a few seconds suits most code), or Timeout.InfiniteTimeSpan to turn the deadlock detector off.");
        }

        if (UnloadTimeout < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(UnloadTimeout), UnloadTimeout, "IsolateOptions.UnloadTimeout must be zero or positive.");
        }

        if (MaxStackSize < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxStackSize), MaxStackSize, "IsolateOptions.MaxStackSize must be zero (runtime default) or a positive number of bytes.");
        }

        if (MaxQueuedCalls < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxQueuedCalls), MaxQueuedCalls, "IsolateOptions.MaxQueuedCalls must be zero (no limit) or a positive number of calls.");
        }

        if (!Enum.IsDefined(Placement))
        {
            throw new ArgumentOutOfRangeException(nameof(Placement), Placement, "IsolateOptions.Placement must be IsolatePlacement.InProcess or IsolatePlacement.ChildProcess.");
        }

        if (MemoryLimit < 0 || (MemoryLimit > 0 && MemoryLimit < MinimumMemoryLimit))
        {
            throw new ArgumentOutOfRangeException(nameof(MemoryLimit), MemoryLimit,
                $"IsolateOptions.MemoryLimit must be 0 (no limit) or at least {MinimumMemoryLimit / (1024 * 1024)} MB ({MinimumMemoryLimit} bytes): a .NET runtime cannot start with less GC heap.");
        }

        if (MemoryLimit > 0 && Placement == IsolatePlacement.InProcess)
        {
            throw new ArgumentException(
                "IsolateOptions.MemoryLimit needs Placement = IsolatePlacement.ChildProcess: an in-process isolate shares the process's one GC heap, which cannot be limited per isolate.",
                nameof(MemoryLimit));
        }

        ValidateWarmUp();
        ArgumentNullException.ThrowIfNull(SharedAssemblies, nameof(SharedAssemblies));
        foreach (string name in SharedAssemblies)
        {
            if (string.IsNullOrWhiteSpace(name))
            {
                throw new ArgumentException("IsolateOptions.SharedAssemblies must hold simple assembly names (e.g. \"MyCompany.Utilities\"), not null or blank entries.", nameof(SharedAssemblies));
            }

            // A name that matches nothing used to be ignored silently, and the library then loaded privately after all
            // (a package id is not always its assembly's name: BCrypt.Net-Next ships BCrypt-Net-Next.dll).
            if (Loader.AssemblyLocator.FindPath(name) is null && Loader.AssemblyLocator.FindInMemory(name) is null)
            {
                string[] near = Loader.AssemblyLocator.NearNames(name);
                throw new ArgumentException(
                    $"IsolateOptions.SharedAssemblies names '{name}', but this application can load no assembly of that name. " +
                    "SharedAssemblies takes assembly names (the file name of the .dll without its extension), not package ids." +
                    (near.Length > 0 ? $" Did you mean {string.Join(" or ", near.Select(n => $"'{n}'"))}?" : string.Empty),
                    nameof(SharedAssemblies));
            }
        }
    }

    /// <summary>
    /// How a warm-up delegate is called: the shape and result type the matching <c>CallAsync</c> overload would use,
    /// so a warm-up that is the very function later called leaves its call plan ready in the isolate.
    /// Validate has accepted the delegate (an Action or a Func of one type argument).
    /// </summary>
    internal static (Calls.ResultShape Shape, Type ResultType) WarmUpCall(Delegate warmUp)
    {
        if (warmUp is Action)
        {
            return (Calls.ResultShape.Void, typeof(Calls.Unit));
        }

        Type returned = warmUp.GetType().GenericTypeArguments[0];
        if (returned == typeof(Task))
        {
            return (Calls.ResultShape.Task, typeof(Calls.Unit));
        }

        if (returned == typeof(ValueTask))
        {
            return (Calls.ResultShape.ValueTask, typeof(Calls.Unit));
        }

        if (returned.IsConstructedGenericType && returned.GetGenericTypeDefinition() == typeof(Task<>))
        {
            return (Calls.ResultShape.TaskOfT, returned.GenericTypeArguments[0]);
        }

        if (returned.IsConstructedGenericType && returned.GetGenericTypeDefinition() == typeof(ValueTask<>))
        {
            return (Calls.ResultShape.ValueTaskOfT, returned.GenericTypeArguments[0]);
        }

        return (Calls.ResultShape.Value, returned);
    }

    private void ValidateWarmUp()
    {
        ArgumentNullException.ThrowIfNull(WarmUp, nameof(WarmUp));
        for (int i = 0; i < WarmUp.Count; i++)
        {
            Delegate? warmUp = WarmUp[i];
            if (warmUp is null)
            {
                throw new ArgumentException($"IsolateOptions.WarmUp[{i}] is null; list only the warm-up functions to run.", nameof(WarmUp));
            }

            Type type = warmUp.GetType();
            if (warmUp is not Action && !(type.IsConstructedGenericType && type.GetGenericTypeDefinition() == typeof(Func<>)))
            {
                throw new ArgumentException(
                    $"IsolateOptions.WarmUp[{i}] is a {type}; a warm-up takes no arguments: an Action or a Func<TResult> such as Func<Task> (a static method or a lambda that captures nothing).",
                    nameof(WarmUp));
            }

            // The same refusals as CallAsync (a closure, an instance method, a dynamic method), but now, at the edge,
            // rather than from inside a spare's background warm-up.
            Calls.CallPlan.Get(warmUp, WarmUpCall(warmUp).Shape);
        }
    }
}
