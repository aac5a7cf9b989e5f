namespace Isolates.Dispatcher;

/// <summary>
/// A continuation or callback posted to the isolate's <see cref="IsolateSynchronizationContext"/> (an <c>await</c>
/// resuming, an <c>async void</c> method's work). An exception escaping it has no caller to go to, so it faults the isolate.
/// </summary>
internal sealed class PostedCallback(SendOrPostCallback callback, object? state) : WorkItem
{
    public override void Execute() => callback(state);

    public override void Abandon(Exception reason)
    {
        // A continuation posted to an isolate that has stopped belongs to code that was already failed with
        // IsolateClosedException (its call) or has no caller at all; there is nobody else to tell.
    }
}
