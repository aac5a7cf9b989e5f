namespace Isolates.Dispatcher;

/// <summary>
/// How an isolate's thread waits while its queue is empty, when it can do better than sleep: a child-process isolate's
/// thread reads its pipe itself (<see cref="Processes.ChildPipeReader"/>), so a call from the host runs on the thread
/// that received it, with no hand-off from another thread. Installed on the isolate's own thread
/// (<see cref="WorkQueue.SetIdleWait"/>); producers then wake the thread through <see cref="Wake"/> instead of the
/// queue's semaphore.
/// </summary>
internal abstract class IdleWait
{
    /// <summary>
    /// Blocks the isolate's thread until it is woken or something arrived: returns an item to run now, or null to look
    /// at the queue again. Spurious returns are fine. Only the isolate's thread calls this.
    /// </summary>
    public abstract WorkItem? Wait();

    /// <summary>Wakes the isolate's thread from <see cref="Wait"/> (or makes its next wait return at once). Any thread.</summary>
    public abstract void Wake();
}
