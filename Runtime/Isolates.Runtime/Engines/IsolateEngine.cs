using Isolates.Calls;

namespace Isolates.Engines;

/// <summary>
/// Where an isolate's code runs and how work reaches it: one implementation per <see cref="IsolatePlacement"/>.
/// <see cref="Isolate"/> is the facade that keeps the isolate's identity and life cycle (name, state, completion, exit,
/// options, telemetry) and forwards calls here; calls, chunks, channels and the watchdog talk to the engine, never
/// back into the facade's internals.
/// </summary>
/// <remarks>
/// The two implementations are sealed, so the JIT can devirtualize a call through this type behind a guard (dynamic
/// PGO sees one engine type per call site in practice). Generic virtual methods are not devirtualized that way: the
/// one on the call path, <see cref="Call{TArgs, TResult}"/>, guards the in-process engine by hand.
/// </remarks>
internal abstract class IsolateEngine
{
    protected IsolateEngine(Isolate owner)
    {
        Owner = owner;
    }

    /// <summary>The isolate this engine runs: its identity, options and life cycle.</summary>
    public Isolate Owner { get; }

    /// <summary>How many calls are waiting (approximate, for monitoring).</summary>
    public abstract int QueueLength { get; }

    /// <summary>The process the isolate's code runs in, when that is not this one.</summary>
    public virtual int? ProcessId => null;

    /// <summary>Whether the engine has ended on its own (a child process that exited), so a spare must not be handed out.</summary>
    public virtual bool HasEnded => false;

    /// <summary>
    /// Whether a map chunk sends each item as a call of its own (<see cref="IChunk.SendTo"/>) rather
    /// than running the whole chunk as one work item; then the chunk does not encode its inputs up front.
    /// </summary>
    public virtual bool SendsChunkItemsAsCalls => false;

    /// <summary>
    /// Starts the engine: the thread or the process. The facade has listed the isolate already (when it is not a
    /// spare); on failure the engine has undone its own part and the facade ends the isolate.
    /// </summary>
    public abstract ValueTask StartAsync(CancellationToken cancellationToken);

    /// <summary>A spare made ahead of a creation: does what speeds up that creation's first call.</summary>
    public virtual void PrepareSpare()
    {
    }

    /// <summary>A spare handed out: the facade has taken the caller's options and name; the engine follows.</summary>
    public abstract void Adopt(IsolateOptions options);

    /// <summary>
    /// Sends one call. The facade has checked the function, the token and that the isolate runs, and has built the plan.
    /// </summary>
    /// <remarks>
    /// The in-process engine is called directly, behind a type check of its sealed type: the JIT does not devirtualize a
    /// generic virtual method (not even behind a PGO guard), and its lookup cost ~10 ns of the ~100 ns a call spends on
    /// the caller's side (measured with the isolate's thread busy, min of 15 runs of 50,000 calls, 4 A/B pairs).
    /// </remarks>
    public Task<TResult> Call<TArgs, TResult>(CallPlan plan, TArgs args, Func<Delegate, TArgs, object?> direct, CancellationToken cancellationToken)
        where TArgs : struct, IArgs =>
        this is InProcessEngine local
            ? local.Queue<TArgs, TResult>(plan, args, direct, cancellationToken)
            : Send<TArgs, TResult>(plan, args, direct, cancellationToken);

    /// <summary>Sends one call (see <see cref="Call{TArgs, TResult}"/>).</summary>
    protected abstract Task<TResult> Send<TArgs, TResult>(CallPlan plan, TArgs args, Func<Delegate, TArgs, object?> direct, CancellationToken cancellationToken)
        where TArgs : struct, IArgs;

    /// <summary>Runs a map chunk: queued as one work item, or sent item by item.</summary>
    public abstract void Run(IChunk chunk);

    /// <summary>The isolate is stopping (called once, from any thread): refuse and fail what waits inside the engine.</summary>
    public abstract void Stop();

    /// <summary>The placement's part of <see cref="Isolate.CloseAsync"/>, after <see cref="Stop"/>: waits for the end.</summary>
    public abstract Task CloseAsync();

    /// <summary>Throws when this placement cannot kill (before the facade starts closing).</summary>
    public abstract void EnsureKillable();

    /// <summary>Ends the isolate's code at once; completes once it has ended and every call has completed.</summary>
    public abstract Task KillAsync();

    /// <summary>Starts deadlock detection, once the options are final.</summary>
    public virtual void StartWatching()
    {
    }

    /// <summary>Asks for fresh CPU and allocation figures (in-process only: the thread samples itself).</summary>
    public virtual void RequestSample()
    {
    }

    /// <summary>The last sampled allocation figure.</summary>
    public virtual long LastAllocatedBytes => 0;

    /// <summary>The last sampled CPU time.</summary>
    public virtual TimeSpan LastCpuTime => TimeSpan.Zero;

    /// <summary>Creates the engine for the options' placement.</summary>
    public static IsolateEngine Create(Isolate owner, IsolateOptions options) => options.Placement == IsolatePlacement.ChildProcess
        ? new ChildProcessEngine(owner)
        : new InProcessEngine(owner, options);
}
