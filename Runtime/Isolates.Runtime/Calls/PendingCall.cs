using System.Diagnostics;
using Isolates.Dispatcher;
using Isolates.Engines;

namespace Isolates.Calls;

/// <summary>The caller's side of an async call, as the isolate running it sees it (see <see cref="PendingCall"/>).</summary>
internal interface IPendingCaller
{
    /// <summary>On the isolate's thread: the function's task has completed; hands its outcome to the caller.</summary>
    void Completed(Task task, TargetPlan target);

    /// <summary>The isolate stopped before the function's task completed.</summary>
    void Abandon(Exception reason);
}

/// <summary>
/// The isolate's side of an async call whose function has returned a task that is not complete yet: what the isolate
/// keeps (in its in-flight set, and as the task's continuation) until that task completes. It references the caller's
/// side (the <see cref="CallItem{TArgs, TResult}"/>, generic over the caller's types, with the caller's plan, delegate and
/// task) only through <see cref="_caller"/>, which the caller's side clears as soon as the caller's task is done (its
/// token fired, or its isolate closed): a function that never finishes then keeps nothing of a closed calling isolate.
/// </summary>
/// <remarks>
/// It replaces what the async path allocated before (a continuation delegate of the call item, a closure and its
/// delegate, a posted callback): it is itself the work item posted back to the isolate's thread.
/// </remarks>
internal sealed class PendingCall : WorkItem, IInFlightCall
{
    private readonly InProcessEngine _engine;
    private readonly Task _task;
    private readonly TargetPlan _target;
    private readonly CancellationTokenSource? _tokenSource;
    private IPendingCaller? _caller;

    public PendingCall(InProcessEngine engine, Task task, TargetPlan target, CancellationTokenSource? tokenSource, IPendingCaller caller)
    {
        _engine = engine;
        _task = task;
        _target = target;
        _tokenSource = tokenSource;
        _caller = caller;
    }

    public override string Description => "the end of an async call";

    /// <summary>Tracks the call (so a close fails it) and resumes on the isolate's thread when the task completes.</summary>
    /// <remarks>Tracking takes the in-flight lock, a full fence: the caller's side relies on it (see CallItem.AwaitResult).</remarks>
    public void Start()
    {
        _engine.TrackInFlight(this);

        // Posted to the isolate's queue explicitly, whatever synchronization context isolate code left behind: the
        // outcome is read on the isolate's thread.
        _task.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(Resume);
    }

    private void Resume() => _engine.PostBookkeeping(this);

    /// <summary>The caller's task is done: nothing of the caller's is kept until the function's task completes.</summary>
    public void Detach() => Volatile.Write(ref _caller, null);

    public override void Execute()
    {
        Debug.Assert(InProcessEngine.OnThisThread == _engine, "async results are read on the isolate's thread");
        _engine.UntrackInFlight(this);
        if (Volatile.Read(ref _caller) is { } caller)
        {
            _caller = null;
            caller.Completed(_task, _target);
            return;
        }

        // The caller left (cancelled, or its isolate closed): its side let go of the isolate's token source, and the
        // function's outcome goes nowhere.
        _ = _task.Exception; // observed, so a dropped failure is not reported as unobserved
        _tokenSource?.Dispose();
    }

    /// <summary>
    /// The isolate stopped (from the in-flight set) or its queue closed with this posted. It may race <see cref="Execute"/>
    /// (a stop while the thread takes this item), and then both reach the caller: that is harmless, as every completion
    /// of the caller's task is a Try-set and its release is idempotent, and cheaper than an interlocked read per async call.
    /// </summary>
    public override void Abandon(Exception reason) => Interlocked.Exchange(ref _caller, null)?.Abandon(reason);

    void IInFlightCall.Abandon(Exception reason) => Abandon(reason);
}
