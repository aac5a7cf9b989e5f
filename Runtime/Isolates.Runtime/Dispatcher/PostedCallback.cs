namespace Isolates.Dispatcher;

/// <summary>
/// A continuation or callback posted to the isolate's <see cref="IsolateSynchronizationContext"/> (an <c>await</c>
/// resuming, an <c>async void</c> method's work). An exception escaping it has no caller to go to, so it faults the isolate.
/// </summary>
internal sealed class PostedCallback(SendOrPostCallback callback, object? state) : WorkItem
{
    /// <summary>
    /// Whether isolate code may be blocked waiting for this callback (an await resuming, a channel take, a token's
    /// cancellation): the deadlock detector counts only those. The runtime's bookkeeping for a finished async call
    /// (<see cref="ResumeOnIsolate"/>) is never waited for on the isolate's own thread.
    /// </summary>
    public bool Awaitable { get; init; } = true;

    public override bool MayBeAwaited => Awaitable;

    public override void Execute() => callback(state);

    /// <summary>For a deadlock report: the async method this continuation resumes, when the state shows it.</summary>
    public override string Description => ContinuationNames.Describe(callback, state);

    public override void Abandon(Exception reason)
    {
        // A continuation posted to an isolate that has stopped belongs to code that was already failed with
        // IsolateClosedException (its call) or has no caller at all; there is nobody else to tell.
    }
}
