using Isolates.Hosting.Registrations;

namespace Isolates.Hosting.Supervision;

/// <summary>The host's record of one supervised isolate across its restarts: its current run and its history.</summary>
internal sealed class SupervisedWorker(WorkerRegistration registration)
{
    private readonly Lock _gate = new();
    private SupervisedIsolateState _state = SupervisedIsolateState.NotStarted;
    private WorkerInstance? _instance;
    private int _restarts;
    private Exception? _lastFault;
    private DateTimeOffset? _lastFaultTime;
    private int _unloadFailures;

    public WorkerRegistration Registration => registration;

    public string Name => registration.Name;

    public WorkerInstance? Instance
    {
        get
        {
            lock (_gate)
            {
                return _instance;
            }
        }
    }

    public SupervisedIsolateState State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    /// <summary>Whether it will not run again (returned, failed for good, exhausted or stopped).</summary>
    public bool IsDone => State is SupervisedIsolateState.Completed or SupervisedIsolateState.Failed or SupervisedIsolateState.Exhausted or SupervisedIsolateState.Stopped;

    public void Started(WorkerInstance instance)
    {
        lock (_gate)
        {
            _instance = instance;
            if (instance.Isolate is not null)
            {
                _state = SupervisedIsolateState.Running;
            }
        }
    }

    public void SetState(SupervisedIsolateState state)
    {
        lock (_gate)
        {
            _state = state;
        }
    }

    public void RecordFault(Exception fault, DateTimeOffset at)
    {
        lock (_gate)
        {
            _lastFault = fault;
            _lastFaultTime = at;
        }
    }

    public void CountRestart()
    {
        lock (_gate)
        {
            _restarts++;
        }
    }

    public void CountUnloadFailure()
    {
        lock (_gate)
        {
            _unloadFailures++;
        }
    }

    public IsolateStatus Snapshot()
    {
        lock (_gate)
        {
            Isolate? isolate = _state == SupervisedIsolateState.Running ? _instance?.Isolate : null;
            return new IsolateStatus(Name, _state, registration.Policy, _restarts, _lastFault, _lastFaultTime, _unloadFailures, isolate);
        }
    }
}
