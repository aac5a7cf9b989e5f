using Isolates.Diagnostics;

namespace Isolates;

/// <summary>Exit notifications: learning, once and without polling, that and why an isolate ended.</summary>
public sealed partial class Isolate
{
    private static readonly ExitWatchers AllWatchers = new(once: false);
    private readonly TaskCompletionSource<IsolateExit> _exit = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ExitWatchers _watchers = new(once: true);
    private volatile bool _listed; // listed in Isolate.All at least once: spares never handed out are nobody's business

    /// <summary>
    /// Completes, exactly once, with how the isolate ended: <see cref="IsolateExitReason.Closed"/> once it closed and
    /// the unload check passed, <see cref="IsolateExitReason.UnloadFailed"/> when that check failed,
    /// <see cref="IsolateExitReason.Faulted"/> as soon as a faulted isolate's thread stopped, and
    /// <see cref="IsolateExitReason.Stuck"/> when closing gave up on a thread that does not return. It never faults.
    /// Where <see cref="Completion"/> answers "has it stopped?", this answers "how did it end?".
    /// </summary>
    public Task<IsolateExit> Exited => _exit.Task;

    /// <summary>
    /// Calls <paramref name="onExit"/> once when this isolate ends (see <see cref="Exited"/> for when each reason is
    /// reported), like an Erlang monitor or Akka's DeathWatch. If the isolate has already ended, the callback is
    /// queued at once. It always runs on a thread-pool thread (never inline, never under a lock) without the
    /// subscriber's execution context; an exception it throws is logged (event id 8), not rethrown.
    /// </summary>
    /// <param name="onExit">What to do with the exit; it receives the same <see cref="IsolateExit"/> as every other watcher.</param>
    /// <returns>Dispose it to stop watching: a callback not yet started then never runs.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="onExit"/> is null.</exception>
    public IDisposable Watch(Action<IsolateExit> onExit)
    {
        ArgumentNullException.ThrowIfNull(onExit);
        return _watchers.Add(onExit);
    }

    /// <summary>
    /// Calls <paramref name="onExit"/> for every isolate of the process that ends from now on (each isolate once),
    /// including isolates created later and pool isolates: a process-wide monitor for dashboards, audits and
    /// supervisors that do not hold every <see cref="Isolate"/>. Callbacks run as for <see cref="Watch"/>.
    /// </summary>
    /// <param name="onExit">What to do with each exit.</param>
    /// <returns>Dispose it to stop watching.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="onExit"/> is null.</exception>
    public static IDisposable WatchAll(Action<IsolateExit> onExit)
    {
        ArgumentNullException.ThrowIfNull(onExit);
        return AllWatchers.Add(onExit);
    }

    /// <summary>Lists the isolate in <see cref="All"/> and counts it as spawned.</summary>
    private void List()
    {
        _listed = true;
        Live[Id] = this;
        Instruments.Spawned(this);
        _engine.StartWatching(); // here the options are final, also for a pre-warmed isolate handed out
    }

    /// <summary>Reports the isolate's end, once: the task, the metric, then every watcher (queued, never inline).</summary>
    internal void ReportExit(IsolateExitReason reason, UnloadStatus unloadStatus)
    {
        if (_fault is not null && reason is IsolateExitReason.Closed or IsolateExitReason.UnloadFailed)
        {
            reason = IsolateExitReason.Faulted; // the fault is the reason; the unload result travels in UnloadStatus
        }

        DateTimeOffset time;
        try
        {
            time = _timeProvider.GetUtcNow();
        }
        catch (Exception)
        {
            time = DateTimeOffset.UtcNow; // a TimeProvider is user code; the exit must still be reported
        }

        var exit = new IsolateExit(this, reason, _fault, unloadStatus, UnloadDiagnostic, time)
        {
            ExitCode = _processEnd?.ExitCode,
            Output = _processEnd?.Output ?? [],
        };
        if (!_exit.TrySetResult(exit) || !_listed)
        {
            return;
        }

        Instruments.Exited(exit);
        _watchers.Notify(exit);
        AllWatchers.Notify(exit);
    }

    internal void ReportWatcherFailure(Exception exception) =>
        TryLog(static (logger, isolate, error) => Log.ExitWatcherFailed(logger, isolate.Name, isolate.Id, error!), exception);
}
