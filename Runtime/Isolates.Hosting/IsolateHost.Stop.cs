using Isolates.Hosting.Diagnostics;
using Isolates.Hosting.Registrations;
using Isolates.Hosting.Supervision;

namespace Isolates.Hosting;

/// <summary>
/// Stopping, in this order: no more restarts; host channels completed and drained (up to
/// <c>HostOptions.ShutdownTimeout</c>); workers cancelled and awaited (each up to its isolate's
/// <see cref="IsolateOptions.CloseTimeout"/>); what is left in the channels counted and logged; pools and isolates
/// closed; every unload checked and failures logged.
/// </summary>
internal sealed partial class IsolateHost
{
    public Task StopAsync(CancellationToken cancellationToken)
    {
        // The phase change and the stop task are published together, so a second caller (a second StopAsync, or
        // DisposeAsync racing a stop) always gets the stop in progress to wait for, never a completed task too early.
        Task<Task> stopping;
        lock (_retiring)
        {
            if (_phase != Created && !_startFinished.Task.IsCompleted)
            {
                // Asked to stop while starting (the host was told to shut down during start-up), or while a failed start
                // is still closing what it started: wait for the start to finish, then stop whatever it started, rather
                // than leave it running. The caller's token ends the caller's wait; the stop itself still happens.
                _stopTask ??= StopAfterStartAsync(cancellationToken);
                return WaitUnlessGivenUpAsync(_stopTask, cancellationToken);
            }

            if (_phase != Started)
            {
                return _stopTask ?? Task.CompletedTask; // never started, failed to start, or already stopping
            }

            stopping = new Task<Task>(() => StopCoreAsync(cancellationToken));
            _stopTask = stopping.Unwrap();
            Volatile.Write(ref _phase, Stopping);
        }

        stopping.Start(TaskScheduler.Default);
        return _stopTask;
    }

    /// <summary>
    /// Waits for <paramref name="stop"/>, or returns (without throwing, as <c>BackgroundService.StopAsync</c> does) once
    /// the host cancels the token: its shutdown is no longer graceful. The stop still runs to its end.
    /// </summary>
    private static async Task WaitUnlessGivenUpAsync(Task stop, CancellationToken cancellationToken)
    {
        try
        {
            await stop.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // given up on; the start's isolates are stopped as soon as the start has finished
        }
    }

    private async Task StopAfterStartAsync(CancellationToken cancellationToken)
    {
        await _startFinished.Task.ConfigureAwait(false);
        lock (_retiring)
        {
            if (_phase != Started)
            {
                return; // the start failed, and closed what it had started itself
            }

            Volatile.Write(ref _phase, Stopping);
        }

        await StopCoreAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Asks the run to stop (its token is cancelled in the isolate) and waits for it, up to the isolate's CloseTimeout.</summary>
    internal async Task StopRunAsync(SupervisedWorker worker, WorkerInstance instance, CancellationToken cancellationToken)
    {
        instance.RequestStop();
        if (instance.Run.IsCompleted)
        {
            return;
        }

        // The isolate's CloseTimeout on the isolate's own clock (the one its CloseAsync uses), so a fake supervision
        // clock in tests never turns this bound into a wait without end.
        TimeSpan timeout = instance.Isolate?.Options.CloseTimeout ?? TimeSpan.Zero;
        TimeProvider clock = instance.Isolate?.Options.TimeProvider ?? TimeProvider.System;
        try
        {
            await instance.Run.WaitAsync(timeout, clock, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Log.DidNotStop(Logger, worker.Name, timeout);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Log.DidNotStop(Logger, worker.Name, timeout);
        }
        catch (Exception)
        {
            // How the run ended is read from the task by the caller.
        }
    }

    /// <summary>Closes a run's isolate in the background and checks that it unloads; the host's stop waits for all of these.</summary>
    internal void Retire(WorkerInstance instance, SupervisedWorker? owner)
    {
        if (instance.Isolate is not { } isolate)
        {
            return;
        }

        Task retiring = RetireAsync(isolate, owner?.Name ?? isolate.Name, owner);
        lock (_retiring)
        {
            _retiring.Add(retiring);
        }
    }

    internal void OnIntensityExceeded(SupervisedWorker worker, RestartPolicy policy, Exception fault)
    {
        int exitCode = _options.FailureExitCode;
        Log.IntensityExceeded(Logger, worker.Name, policy.MaxRestarts, policy.Within, exitCode, fault);
        Environment.ExitCode = exitCode;
        _lifetime?.StopApplication();
    }

    internal void OnSupervisorFailed(string members, Exception error)
    {
        int exitCode = _options.FailureExitCode;
        Log.SupervisorFailed(Logger, members, exitCode, error);
        Environment.ExitCode = exitCode;
        _lifetime?.StopApplication();
    }

    private async Task StopCoreAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_groups.Select(g => g.Loop)).ConfigureAwait(false);

        // 1. Drain: no new items; readers (still running) empty the channels.
        foreach (HostChannel channel in _channels.Values)
        {
            channel.CompleteWriter();
        }

        if (_channels.Count > 0)
        {
            try
            {
                // Wall-clock time, as the generic host measures its ShutdownTimeout: a fake supervision clock in the
                // services must not turn the drain into a wait without end (DisposeAsync stops with no token).
                await Task.WhenAll(_channels.Values.Select(c => c.Completion)).WaitAsync(_shutdownTimeout, TimeProvider.System, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Timed out, the host's stop token fired, or a channel failed: what is left is counted below.
            }
        }

        // 2. Cancel the workers and wait for them to return. Each gets its own CloseTimeout even when the drain used up
        //    the host's shutdown budget: cutting this short would abandon the workers' clean-up code.
        List<(SupervisedWorker Worker, WorkerInstance Instance)> running = [.. _workers
            .Where(w => w.Instance is { Handled: false })
            .Select(w => (w, w.Instance!))];
        await Task.WhenAll(running.Select(r => StopRunAsync(r.Worker, r.Instance, CancellationToken.None))).ConfigureAwait(false);
        foreach ((SupervisedWorker worker, WorkerInstance instance) in running)
        {
            RecordStop(worker, instance);
        }

        foreach (SupervisedWorker worker in _workers.Where(w => w.State is SupervisedIsolateState.Restarting or SupervisedIsolateState.NotStarted))
        {
            worker.SetState(SupervisedIsolateState.Stopped);
        }

        // 3. Count what nobody will deliver now.
        foreach (HostChannel channel in _channels.Values)
        {
            int undelivered = channel.DiscardRemaining();
            if (undelivered == 0)
            {
                Log.Drained(Logger, channel.Name);
            }
            else
            {
                Log.Undelivered(Logger, channel.Name, undelivered, _shutdownTimeout);
                Metrics.Undelivered(channel.Name, undelivered);
            }
        }

        // 4. Close pools and isolates, then wait for every unload check.
        await Task.WhenAll(_pools.Select(p => ClosePoolAsync(p.Key, p.Value))).ConfigureAwait(false);
        await WaitForRetiredAsync().ConfigureAwait(false);
        Log.HostStopped(Logger, _workers.Count, _pools.Count, Volatile.Read(ref _leaked));
        Volatile.Write(ref _phase, Stopped);
    }

    private void RecordStop(SupervisedWorker worker, WorkerInstance instance)
    {
        instance.Handled = true;
        Retire(instance, worker);
        if (!instance.Run.IsCompleted)
        {
            worker.SetState(SupervisedIsolateState.Stopped);
            Log.Stopped(Logger, worker.Name, "did not return after cancellation; its isolate was closed");
            return;
        }

        Exception? fault = RunOutcome.FaultOf(instance.Run);
        if (fault is not null && !RunOutcome.IsCancellation(fault))
        {
            worker.RecordFault(fault, Time.GetUtcNow());
            Metrics.Faulted(worker.Name);
            Log.Faulted(Logger, worker.Name, "host stopping: not restarted", fault);
        }

        worker.SetState(SupervisedIsolateState.Stopped);
        Log.Stopped(Logger, worker.Name, fault is null || RunOutcome.IsCancellation(fault) ? "host stopped" : "faulted while the host stopped");
    }

    /// <summary>
    /// Every isolate a pool started (replacements included) that has not been checked for unloading yet. Taking the
    /// pool's isolates when it closes would miss the faulted ones it replaced and a replacement made while its dispose
    /// waits for running work.
    /// </summary>
    private readonly List<(string Pool, Isolate Isolate)> _poolIsolates = [];

    private void TrackPoolIsolate(string pool, Isolate isolate)
    {
        List<(string Pool, Isolate Isolate)> ended = [];
        lock (_poolIsolates)
        {
            // Isolates whose thread has already stopped (a faulted one the pool replaced) are checked now, so the
            // list does not grow with every replacement over the host's life.
            _poolIsolates.RemoveAll(entry =>
            {
                if (entry.Isolate.Completion.IsCompleted)
                {
                    ended.Add(entry);
                    return true;
                }

                return false;
            });
            _poolIsolates.Add((pool, isolate));
        }

        foreach ((string owner, Isolate done) in ended)
        {
            lock (_retiring)
            {
                _retiring.Add(CheckUnloadAsync(done, $"pool '{owner}'", null));
            }
        }
    }

    private async Task ClosePoolAsync(string name, IsolatePool pool)
    {
        await pool.CloseAsync().ConfigureAwait(false); // from here the pool starts no isolate
        List<Isolate> isolates = [];
        lock (_poolIsolates)
        {
            _poolIsolates.RemoveAll(entry =>
            {
                if (entry.Pool == name)
                {
                    isolates.Add(entry.Isolate);
                    return true;
                }

                return false;
            });
        }

        foreach (Isolate isolate in isolates)
        {
            lock (_retiring)
            {
                _retiring.Add(CheckUnloadAsync(isolate, $"pool '{name}'", null));
            }
        }
    }

    private async Task RetireAsync(Isolate isolate, string ownerName, SupervisedWorker? owner)
    {
        await isolate.CloseAsync().ConfigureAwait(false);
        await CheckUnloadAsync(isolate, $"supervised isolate '{ownerName}'", owner).ConfigureAwait(false);
    }

    private async Task CheckUnloadAsync(Isolate isolate, string owner, SupervisedWorker? worker)
    {
        UnloadStatus status;
        if (isolate.Unloaded.IsCompleted)
        {
            status = isolate.UnloadStatus;
        }
        else if (isolate.State == IsolateState.Closing)
        {
            status = UnloadStatus.Leaked; // CloseAsync gave up on a thread that never returned: it cannot unload
        }
        else
        {
            TimeSpan bound = isolate.Options.UnloadTimeout + TimeSpan.FromSeconds(5);
            try
            {
                status = await isolate.Unloaded.WaitAsync(bound).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                status = UnloadStatus.Leaked;
            }
        }

        if (status == UnloadStatus.Leaked)
        {
            Interlocked.Increment(ref _leaked);
            worker?.CountUnloadFailure();
            Log.UnloadFailed(Logger, isolate.Name, isolate.Id, owner, status, isolate.UnloadDiagnostic ?? "no diagnostic");
        }
    }

    private async Task WaitForRetiredAsync()
    {
        while (true)
        {
            Task[] pending;
            lock (_retiring)
            {
                pending = [.. _retiring.Where(t => !t.IsCompleted)];
            }

            if (pending.Length == 0)
            {
                return;
            }

            await Task.WhenAll(pending).ConfigureAwait(false);
        }
    }
}
