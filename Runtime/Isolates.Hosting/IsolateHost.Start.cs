using Isolates.Hosting.Diagnostics;
using Isolates.Hosting.Registrations;
using Isolates.Hosting.Supervision;

namespace Isolates.Hosting;

/// <summary>Starting: pools, then supervised isolates in registration order, then their supervisors.</summary>
internal sealed partial class IsolateHost
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _phase, Starting, Created) != Created)
        {
            throw new InvalidOperationException("The isolate host was already started; a host starts its isolates once.");
        }

        try
        {
            await StartCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _startFinished.TrySetResult(); // a StopAsync that arrived meanwhile now stops what was started
        }
    }

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        try
        {
            Dictionary<string, IsolatePoolOptions> pools = PrepareExports();
            await StartPoolsAsync(pools, cancellationToken).ConfigureAwait(false);
            foreach (SupervisedWorker worker in _workers)
            {
                try
                {
                    await StartInstanceAsync(worker, initial: true, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    throw StartFailure($"supervised isolate '{worker.Name}' ({worker.Registration.WorkerType.FullName})", ex);
                }
            }
        }
        catch
        {
            await CloseAfterFailedStartAsync().ConfigureAwait(false);
            throw;
        }

        lock (_retiring)
        {
            Volatile.Write(ref _phase, Started);
        }

        foreach (SupervisorGroup group in _groups)
        {
            group.Start(_stopping.Token);
        }
    }

    /// <summary>
    /// Starts one run of a worker: a fresh isolate, the worker constructed inside it, its <c>RunAsync</c> called.
    /// At host start a failure is thrown (start-up fails); on a restart it becomes a failed run, which the supervisor
    /// treats as a fault (and counts against the restart intensity).
    /// </summary>
    internal async Task StartInstanceAsync(SupervisedWorker worker, bool initial, CancellationToken cancellationToken)
    {
        WorkerRegistration registration = worker.Registration;
        IsolateOptions options = (WorkerOptions(worker) ?? new IsolateOptions()) with { Name = worker.Name };
        if (options.LoggerFactory is null && _loggerFactory is not null)
        {
            options = options with { LoggerFactory = _loggerFactory };
        }

        Isolate? isolate = null;
        try
        {
            isolate = await Isolate.CreateAsync(options, cancellationToken).ConfigureAwait(false);
            await registration.Construct(isolate, _services).WaitAsync(cancellationToken).ConfigureAwait(false);
            var stop = IsolateChannel.CreateBounded<int>(1);
            Task run = registration.Run(isolate, stop.Reader);
            worker.Started(new WorkerInstance(isolate, run, stop));
            Log.Started(Logger, worker.Name, isolate.Id, registration.WorkerType.FullName ?? registration.WorkerType.Name);
        }
        catch (Exception ex) when (!initial && !(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            if (isolate is not null)
            {
                Retire(new WorkerInstance(isolate, Task.CompletedTask, null), worker);
            }

            worker.Started(WorkerInstance.Failed(ex));
        }
        catch when (isolate is not null)
        {
            Retire(new WorkerInstance(isolate, Task.CompletedTask, null), worker);
            throw;
        }
    }

    private async Task StartPoolsAsync(Dictionary<string, IsolatePoolOptions> prepared, CancellationToken cancellationToken)
    {
        (PoolRegistration Registration, Task<IsolatePool> Pool)[] starting =
            [.. _options.Pools.Select(p => (p, IsolatePool.CreateAsync(PoolOptions(prepared[p.Name]), isolate => TrackPoolIsolate(p.Name, isolate), cancellationToken)))];
        try
        {
            await Task.WhenAll(starting.Select(s => s.Pool)).ConfigureAwait(false);
        }
        catch
        {
            // Reported below, naming the pool.
        }

        foreach ((PoolRegistration registration, Task<IsolatePool> pool) in starting)
        {
            if (pool.IsCompletedSuccessfully)
            {
                _pools[registration.Name] = pool.Result;
                Log.PoolStarted(Logger, registration.Name, pool.Result.Size);
            }
        }

        foreach ((PoolRegistration registration, Task<IsolatePool> pool) in starting)
        {
            if (!pool.IsCompletedSuccessfully)
            {
                Exception error = pool.Exception?.InnerException ?? new OperationCanceledException("Starting the pool was cancelled.", cancellationToken);
                throw StartFailure($"pool '{registration.Name}'", error);
            }
        }
    }

    private IsolatePoolOptions PoolOptions(IsolatePoolOptions options)
    {
        if (_loggerFactory is not null && options.IsolateOptions?.LoggerFactory is null)
        {
            options = options with { IsolateOptions = (options.IsolateOptions ?? new IsolateOptions()) with { LoggerFactory = _loggerFactory } };
        }

        return options;
    }

    private InvalidOperationException StartFailure(string what, Exception error)
    {
        Log.StartFailed(Logger, what, error);
        return new InvalidOperationException($"Isolates could not start {what}: {error.GetType().Name}: {error.Message}", error);
    }

    private async Task CloseAfterFailedStartAsync()
    {
        Volatile.Write(ref _phase, Stopping);
        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (SupervisedWorker worker in _workers)
        {
            if (worker.Instance is { } instance)
            {
                instance.RequestStop();
                Retire(instance, worker);
                worker.SetState(SupervisedIsolateState.Stopped);
            }
        }

        await Task.WhenAll(_pools.Values.Select(p => p.CloseAsync())).ConfigureAwait(false);
        await WaitForRetiredAsync().ConfigureAwait(false);
        foreach (HostChannel channel in _channels.Values)
        {
            channel.CompleteWriter();
        }

        Volatile.Write(ref _phase, Stopped);
    }
}
