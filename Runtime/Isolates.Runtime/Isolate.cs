using System.Collections.Concurrent;
using System.Runtime.Loader;
using Isolates.Diagnostics;
using Isolates.Engines;
using Isolates.Loader;
using Microsoft.Extensions.Logging;

namespace Isolates;

/// <summary>
/// An isolate: a private copy of your assemblies (so their static fields are its own), one dedicated thread that
/// runs all of its code, and nothing shared with the rest of the process. Work goes in through
/// <see cref="CallAsync{TResult}(Func{TResult}, CancellationToken)"/> and its overloads; values cross as copies,
/// rebuilt as the receiver's own types.
/// </summary>
/// <remarks>
/// An isolate is not a security boundary: its code runs in the same process with the same permissions, and it
/// can reach shared framework state. See the README for what isolation does and does not guarantee.
/// </remarks>
public sealed partial class Isolate : IAsyncDisposable
{
    private static readonly ConcurrentDictionary<long, Isolate> Live = new();
    private static long s_nextId;

    // Not readonly: a pre-warmed isolate gets its caller's options when it is handed out (see Isolate.Warm.cs).
    private IsolateOptions _options;
    private ILogger _logger;
    private TimeProvider _timeProvider;
    private readonly CancellationTokenSource _closing = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<UnloadStatus> _unloaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly IsolateEngine _engine; // sealed engine types: the JIT can devirtualize calls through it behind a guard
    private int _state;

    private Isolate(IsolateOptions options)
    {
        _options = options;
        Id = Interlocked.Increment(ref s_nextId);
        Name = options.Name ?? $"isolate-{Id}";
        _logger = SafeLogger.Create(options.LoggerFactory, "Isolates.Isolate");
        _timeProvider = options.TimeProvider ?? TimeProvider.System;
        _callGate = CallGateFor(options);
        _engine = IsolateEngine.Create(this, options); // last: the engine reads the name and options
    }

    /// <summary>A process-wide unique, increasing id.</summary>
    public long Id { get; }

    /// <summary>The name given in <see cref="IsolateOptions.Name"/>, or <c>isolate-{Id}</c>.</summary>
    public string Name { get; private set; }

    /// <summary>Where the isolate is in its life.</summary>
    public IsolateState State => (IsolateState)Volatile.Read(ref _state);

    /// <summary>
    /// Completes when the isolate has stopped: successfully after <see cref="CloseAsync"/>, faulted with an
    /// <see cref="IsolateExecutionException"/> when an exception escaped isolate code outside any call. Await it
    /// (or attach a continuation) to learn that an isolate ended without polling.
    /// </summary>
    public Task Completion => _completion.Task;

    /// <summary>Completes with the result of the unload check once the isolate has stopped.</summary>
    public Task<UnloadStatus> Unloaded => _unloaded.Task;

    /// <summary>Whether the isolate's context was verified as collected after it stopped.</summary>
    public UnloadStatus UnloadStatus => _unloaded.Task.IsCompleted ? _unloaded.Task.Result : UnloadStatus.Pending;

    /// <summary>When the isolate failed to unload or to stop, what is known about why; otherwise null.</summary>
    public string? UnloadDiagnostic { get; internal set; }

    /// <summary>
    /// Cancelled as soon as the isolate starts closing (or faults), even while code is busy on its thread.
    /// Long-running isolate code should watch it (through <see cref="Current"/>) and return, because a thread cannot
    /// be stopped from outside. Callbacks registered on it run on a thread-pool thread; <c>await</c> resumes on the
    /// isolate's thread as always.
    /// </summary>
    public CancellationToken ClosingToken => _closing.Token;

    /// <summary>The options the isolate was created with.</summary>
    public IsolateOptions Options => _options;

    /// <summary>
    /// The isolate the calling code runs in, or null in host code. Also set for thread-pool work started by isolate
    /// code (through the isolate's contextual reflection scope, which flows with the execution context).
    /// </summary>
    public static Isolate? Current =>
        InProcessEngine.OnThisThread?.Owner ?? (AssemblyLoadContext.CurrentContextualReflectionContext as IsolateLoadContext)?.Owner;

    /// <summary>The isolates alive in this process: created and not yet stopped (a snapshot).</summary>
    public static IReadOnlyCollection<Isolate> All => [.. Live.Values.OrderBy(i => i.Id)];

    /// <summary>
    /// How many calls and callbacks are waiting in the isolate's queue (approximate, for monitoring); for a child-process
    /// isolate, how many calls were sent and not answered yet.
    /// </summary>
    public int QueueLength => _engine.QueueLength;

    /// <inheritdoc />
    public override string ToString() => $"Isolate '{Name}' ({Id}, {State})";

    /// <summary>Closes the isolate; the same as <see cref="CloseAsync"/>.</summary>
    /// <returns>A task that completes when the isolate has closed.</returns>
    public ValueTask DisposeAsync() => new(CloseAsync());

    /// <summary>The isolate whose thread this is, or null (cheaper than <see cref="Current"/>, which also looks at the contextual reflection scope).</summary>
    internal static Isolate? OnThisThread => InProcessEngine.OnThisThread?.Owner;

    /// <summary>Where and how the isolate's code runs: what calls, chunks, channels and the watchdog talk to.</summary>
    internal IsolateEngine Engine => _engine;

    /// <summary>
    /// The in-process engine of an isolate whose code runs in this process (as the isolate a child process serves does).
    /// </summary>
    internal InProcessEngine InProcess => _engine as InProcessEngine
        ?? throw new InvalidOperationException($"Isolate '{Name}' runs in a child process; its code is not in this one.");
}
