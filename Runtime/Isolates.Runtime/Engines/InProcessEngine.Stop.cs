using Isolates.Calls;
using Isolates.Diagnostics;
using Isolates.Loader;
using Isolates.Unloading;

namespace Isolates.Engines;

/// <summary>Stopping the thread, declaring it stuck, unloading the context and checking that it was collected.</summary>
internal sealed partial class InProcessEngine
{
    /// <summary>
    /// New and queued calls fail now, unfinished async calls fail now, and when the isolate faulted, channels whose
    /// writer it held fail. The thread itself ends once the code running on it returns.
    /// </summary>
    public override void Stop()
    {
        Isolate owner = Owner;
        ArmDisposal(); // before the queue closes: the continuations in it are kept for the disposal, not dropped
        _queue.Close(owner.ClosedReason("before it ran"));
        Interleave.Point("isolate.stop.queueClosed");
        IInFlightCall[] unfinished;
        lock (_inFlight)
        {
            unfinished = [.. _inFlight];
            _inFlight.Clear();
        }

        IsolateClosedException reason = owner.ClosedReason("before it finished", started: true);
        foreach (IInFlightCall call in unfinished)
        {
            call.Abandon(reason);
        }

        if (owner.FaultReason is { } fault)
        {
            Channels.ChannelCore[] held = [.. _heldWriters.Select(pair => pair.Key)];
            _heldWriters.Clear();

            var writerLost = new IsolateClosedException(owner.Id, owner.Name, $"Isolate '{owner.Name}' ({owner.Id}), which held a writer of this channel, faulted: {fault.RemoteType}: {fault.Message}", fault);
            foreach (Channels.ChannelCore core in held.Where(core => !core.SurvivesWriterFaults))
            {
                core.TryFail(writerLost);
            }
        }
    }

    /// <inheritdoc />
    public override void EnsureKillable() =>
        throw new NotSupportedException(
            $"Isolate '{Owner.Name}' runs in this process, and a thread cannot be killed in .NET. Create it with Placement = IsolatePlacement.ChildProcess to be able to kill it, " +
            "or have its code watch the call's CancellationToken or Isolate.Current.ClosingToken and use CloseAsync.");

    /// <inheritdoc />
    public override Task KillAsync()
    {
        EnsureKillable();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public override async Task CloseAsync()
    {
        // Also fine from the isolate's own thread: nothing here blocks, and no continuation needs that thread.
        Isolate owner = Owner;
        TimeSpan timeout = owner.Options.CloseTimeout;
        Task stopped = owner.StoppedTask;
        if (timeout == TimeSpan.Zero && !stopped.IsCompleted)
        {
            return; // asked not to wait: the isolate finishes closing when its code returns
        }

        try
        {
            await (timeout == Timeout.InfiniteTimeSpan || timeout.TotalMilliseconds >= uint.MaxValue - 1
                ? stopped
                : UserClock.WaitAsync(stopped, timeout, owner.TimeProvider)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            string running = RunningDescription;
            owner.UnloadDiagnostic = $"The isolate's thread did not stop within {timeout}: it is still running {running}. " +
                "A thread cannot be stopped from outside in .NET; the code must return or watch Isolate.Current.ClosingToken. " +
                "The isolate refuses new calls, and its memory stays in use until the thread returns.";
            owner.TryLog((logger, isolate, _) => Log.Stuck(logger, isolate.Name, isolate.Id, isolate.Options.CloseTimeout, running));

            Volatile.Write(ref _declaredStuck, true); // if the thread returns later, it disposes nothing: the close is over

            // Every call completes: the one that holds the thread is failed now. Its completion is a Try-set, so if the
            // code ever returns, its result (or error) is discarded instead of reaching a caller that has moved on.
            Volatile.Read(ref _running)?.Abandon(new IsolateClosedException(owner.Id, owner.Name,
                $"Isolate '{owner.Name}' ({owner.Id}) was declared stuck: its thread did not return within CloseTimeout ({timeout}) while running {running}. " +
                "The call was abandoned; if it ever returns, its result is discarded. Long-running isolate code should watch the call's CancellationToken or Isolate.Current.ClosingToken.",
                owner.FaultReason));
            owner.ReportExit(IsolateExitReason.Stuck, UnloadStatus.Pending);
            return;
        }

        if (owner.Options.WaitForUnload)
        {
            await owner.Unloaded.ConfigureAwait(false);
        }
    }

    private string RunningDescription => Volatile.Read(ref _running)?.Description ?? "nothing";

    private void OnThreadExited()
    {
        Isolate owner = Owner;
        try
        {
            owner.CompleteStopped();
            if (owner.FaultReason is not null)
            {
                owner.ReportExit(IsolateExitReason.Faulted, UnloadStatus.Pending); // the reason is certain: no need to wait for the unload check
            }

            owner.TryLog(static (logger, isolate, _) => Log.Stopped(logger, isolate.Name, isolate.Id));
            _thread = null;
            IsolateLoadContext? context = Interlocked.Exchange(ref _context, null);
            if (context is null || !owner.Options.Collectible)
            {
                owner.ReportExit(IsolateExitReason.Closed, UnloadStatus.NotCollectible);
                owner.SetUnloaded(UnloadStatus.NotCollectible);
                return;
            }

            context.Retired = (owner.Id, owner.Name); // before Owner goes: a call from its code never looks like the host's
            context.Owner = null;
            context.Cache.Retire(); // nothing reachable from the context object may reference its types (see ContextCache)
            context.Unload();
            _ = VerifyUnloadAsync();
        }
        catch (Exception ex)
        {
            owner.UnloadDiagnostic = $"Unloading failed: {ex.GetType().Name}: {ex.Message}";
            owner.SetStopped();
            Instruments.UnloadFailed(owner);
            owner.ReportExit(IsolateExitReason.UnloadFailed, UnloadStatus.Leaked);
            owner.SetUnloaded(UnloadStatus.Leaked);
        }
    }

    private async Task VerifyUnloadAsync()
    {
        Isolate owner = Owner;
        TimeSpan unloadTimeout = owner.Options.UnloadTimeout;
        UnloadStatus status = await UnloadVerifier.WaitForCollectionAsync(_contextReference, unloadTimeout, owner.TimeProvider).ConfigureAwait(false);
        if (status == UnloadStatus.Leaked)
        {
            // Before the leak is reported, so UnloadDiagnostic already names the root when Unloaded completes.
            LeakDiagnosis.Findings findings = await LeakDiagnosis.DiagnoseAsync(_contextReference).ConfigureAwait(false);
            owner.UnloadDiagnostic = UnloadVerifier.ExplainLeak(owner.Name, unloadTimeout, findings);
            owner.TryLog(static (logger, isolate, _) => Log.UnloadFailed(logger, isolate.Name, isolate.Id, isolate.UnloadDiagnostic!));
            Instruments.UnloadFailed(owner);
        }
        else if (status == UnloadStatus.Unloaded)
        {
            owner.UnloadDiagnostic = null;
            owner.TryLog(static (logger, isolate, _) => Log.Unloaded(logger, isolate.Name, isolate.Id));
        }

        owner.ReportExit(status == UnloadStatus.Leaked ? IsolateExitReason.UnloadFailed : IsolateExitReason.Closed, status);
        owner.SetUnloaded(status);
    }
}
