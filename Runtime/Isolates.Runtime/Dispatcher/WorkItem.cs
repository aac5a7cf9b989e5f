namespace Isolates.Dispatcher;

/// <summary>
/// One unit of work for an isolate's thread. Every item that enters a queue is either executed on the isolate's
/// thread or abandoned with a reason; nothing is dropped without its sender learning why.
/// </summary>
internal abstract class WorkItem
{
    /// <summary>What the item runs, for diagnostics such as "stuck in Work.Loop".</summary>
    public virtual string Description => "a posted callback";

    /// <summary>
    /// Whether code on the isolate's own thread may be blocked waiting for this item (an await resuming, a call the
    /// isolate made to itself): the deadlock detector counts only those.
    /// </summary>
    public virtual bool MayBeAwaited => false;

    /// <summary>Runs the item on the isolate's thread. Exceptions that escape fault the isolate.</summary>
    public abstract void Execute();

    /// <summary>Fails the item because the isolate will never run it. Called from any thread, at most once per item.</summary>
    public abstract void Abandon(Exception reason);
}
