using System.Threading.Channels;

namespace Isolates.Hosting.Supervision;

/// <summary>
/// One run of a supervised worker: its isolate, the call running its <c>RunAsync</c> (which ends when the worker
/// returns, throws, or its isolate faults) and the channel whose completion asks it to stop.
/// </summary>
internal sealed class WorkerInstance(Isolate? isolate, Task run, Channel<int>? stop)
{
    /// <summary>The isolate; null when the run failed before an isolate existed.</summary>
    public Isolate? Isolate => isolate;

    public Task Run => run;

    /// <summary>Set once the run's outcome has been recorded (by the supervisor or by the host's stop).</summary>
    public bool Handled { get; set; }

    /// <summary>Asks the worker to stop: its token is cancelled inside the isolate.</summary>
    public void RequestStop() => stop?.Writer.TryComplete();

    public static WorkerInstance Failed(Exception exception) => new(null, Task.FromException(exception), null);
}
