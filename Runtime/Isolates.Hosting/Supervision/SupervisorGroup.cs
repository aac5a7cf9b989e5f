using Isolates.Hosting.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Isolates.Hosting.Supervision;

/// <summary>
/// A supervisor in the Erlang/OTP sense: one for each one-for-one (or never-restarted) isolate, one for each
/// all-for-one or rest-for-one group. It waits for any member's run to end and applies the policy: a normal return completes the
/// member, a fault restarts it (or the whole group) after a backoff, unless the restart intensity is exceeded, which
/// stops the host.
/// </summary>
internal sealed class SupervisorGroup(IsolateHost host, RestartPolicy policy, IReadOnlyList<SupervisedWorker> members)
{
    private readonly Queue<DateTimeOffset> _restartTimes = new();

    public IReadOnlyList<SupervisedWorker> Members => members;

    public Task Loop { get; private set; } = Task.CompletedTask;

    public void Start(CancellationToken stopping) => Loop = Task.Run(() => GuardAsync(stopping), CancellationToken.None);

    /// <summary>A supervisor that dies of a bug must not leave its isolates unsupervised without a word: stop the host.</summary>
    private async Task GuardAsync(CancellationToken stopping)
    {
        try
        {
            await SuperviseAsync(stopping).ConfigureAwait(false);
        }
        catch (Exception ex) when (!(ex is OperationCanceledException && stopping.IsCancellationRequested))
        {
            host.OnSupervisorFailed(string.Join(", ", members.Select(m => m.Name)), ex);
        }
    }

    private async Task SuperviseAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            Task[] running = [.. members.Where(m => !m.IsDone && m.Instance is { Handled: false }).Select(m => m.Instance!.Run)];
            if (running.Length == 0)
            {
                return;
            }

            try
            {
                await Task.WhenAny(running).WaitAsync(stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return; // the host is stopping: its stop path records how each run ends
            }

            List<(SupervisedWorker Member, Exception Fault)> faulted = [];
            foreach (SupervisedWorker member in members)
            {
                if (stopping.IsCancellationRequested)
                {
                    return;
                }

                if (member.IsDone || member.Instance is not { Handled: false, Run.IsCompleted: true } instance)
                {
                    continue;
                }

                instance.Handled = true;
                if (RunOutcome.FaultOf(instance.Run) is { } fault)
                {
                    member.RecordFault(fault, host.Time.GetUtcNow());
                    host.Metrics.Faulted(member.Name);
                    Log.Faulted(host.Logger, member.Name, policy.ToString(), fault);
                    faulted.Add((member, fault));
                }
                else
                {
                    member.SetState(SupervisedIsolateState.Completed);
                    Log.Stopped(host.Logger, member.Name, "RunAsync returned (not restarted)");
                }

                host.Retire(instance, member);
            }

            if (faulted.Count > 0 && !await RestartAsync(faulted, stopping).ConfigureAwait(false))
            {
                return;
            }
        }
    }

    /// <summary>Applies the policy to the members that faulted; false when supervision ends (exhausted or stopping).</summary>
    private async Task<bool> RestartAsync(List<(SupervisedWorker Member, Exception Fault)> faulted, CancellationToken stopping)
    {
        if (policy.Strategy == RestartStrategy.Never)
        {
            foreach ((SupervisedWorker member, _) in faulted)
            {
                member.SetState(SupervisedIsolateState.Failed);
            }

            return true;
        }

        DateTimeOffset now = host.Time.GetUtcNow();
        while (_restartTimes.TryPeek(out DateTimeOffset oldest) && now - oldest >= policy.Within)
        {
            _restartTimes.Dequeue();
        }

        if (_restartTimes.Count >= policy.MaxRestarts)
        {
            foreach ((SupervisedWorker member, _) in faulted)
            {
                member.SetState(SupervisedIsolateState.Exhausted);
            }

            host.OnIntensityExceeded(faulted[0].Member, policy, faulted[0].Fault);
            return false;
        }

        _restartTimes.Enqueue(now);
        int attempt = _restartTimes.Count;
        TimeSpan delay = policy.DelayFor(attempt);

        // One-for-one restarts the members that faulted; all-for-one also stops and restarts every running member;
        // rest-for-one the first member that faulted and every running member registered after it.
        List<SupervisedWorker> restart = policy.Strategy switch
        {
            RestartStrategy.AllForOne => [.. members.Where(m => !m.IsDone)],
            RestartStrategy.RestForOne => [.. members.SkipWhile(m => !faulted.Any(f => f.Member == m)).Where(m => !m.IsDone)],
            _ => [.. faulted.Select(f => f.Member)],
        };
        await Task.WhenAll(restart.Where(m => m.Instance is { Handled: false }).Select(m => StopSiblingAsync(m, m.Instance!, stopping))).ConfigureAwait(false);
        try
        {
            // The backoff timer exists before anyone can see the Restarting state (tests advance a fake clock then).
            Task backoff = Task.Delay(delay, host.Time, stopping);
            foreach (SupervisedWorker member in restart)
            {
                member.SetState(SupervisedIsolateState.Restarting);
                Log.Restarting(host.Logger, member.Name, delay, attempt, policy.MaxRestarts, policy.Within);
            }

            await backoff.ConfigureAwait(false);
            foreach (SupervisedWorker member in restart)
            {
                member.CountRestart();
                host.Metrics.Restarted(member.Name);
                await host.StartInstanceAsync(member, initial: false, stopping).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            return false;
        }

        return true;
    }

    /// <summary>Stops a healthy member of an all-for-one or rest-for-one group so it can start again with the one that faulted.</summary>
    private async Task StopSiblingAsync(SupervisedWorker member, WorkerInstance instance, CancellationToken stopping)
    {
        instance.Handled = true;
        await host.StopRunAsync(member, instance, stopping).ConfigureAwait(false);
        host.Retire(instance, member);
    }
}
