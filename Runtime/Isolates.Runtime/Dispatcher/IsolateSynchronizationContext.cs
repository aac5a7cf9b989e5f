namespace Isolates.Dispatcher;

/// <summary>
/// The synchronization context of an isolate's thread: <c>await</c> in isolate code posts its continuation here,
/// so it resumes on the isolate's one thread and isolate code never runs on two threads at once.
/// </summary>
internal sealed class IsolateSynchronizationContext(WorkQueue queue, Engines.InProcessEngine owner) : SynchronizationContext
{
    public Engines.InProcessEngine Owner { get; } = owner;

    public override void Post(SendOrPostCallback d, object? state)
    {
        ArgumentNullException.ThrowIfNull(d);
        queue.Enqueue(new PostedCallback(d, state));
    }

    public override void Send(SendOrPostCallback d, object? state)
    {
        ArgumentNullException.ThrowIfNull(d);
        if (Owner.IsOwnThread)
        {
            d(state);
            return;
        }

        // Blocking a foreign thread until the isolate has run the callback; the isolate closing releases it with an error.
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        queue.Enqueue(new SendItem(d, state, done, Owner));
        done.Task.GetAwaiter().GetResult();
    }

    public override SynchronizationContext CreateCopy() => this;

    private sealed class SendItem(SendOrPostCallback callback, object? state, TaskCompletionSource done, Engines.InProcessEngine owner) : WorkItem
    {
        public override void Execute()
        {
            try
            {
                callback(state);
                done.TrySetResult();
            }
            catch (Exception ex)
            {
                done.TrySetException(Errors.ExceptionTransfer.ToRemote(ex, owner.Owner.Id, owner.Owner.Name)); // never the isolate's own object
            }
        }

        public override void Abandon(Exception reason) => done.TrySetException(reason);
    }
}
