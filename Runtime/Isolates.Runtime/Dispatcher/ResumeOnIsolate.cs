namespace Isolates.Dispatcher;

/// <summary>
/// Awaits a task and resumes on the isolate's own thread by posting to its queue explicitly, whatever
/// <see cref="SynchronizationContext.Current"/> isolate code left behind. The runtime's bookkeeping for async calls
/// must run on the isolate's thread; relying on the ambient context would let it run on the thread pool.
/// </summary>
internal readonly struct ResumeOnIsolate(Task task, Engines.InProcessEngine engine) : System.Runtime.CompilerServices.ICriticalNotifyCompletion
{
    public bool IsCompleted => task.IsCompleted;

    public ResumeOnIsolate GetAwaiter() => this;

    public void GetResult()
    {
        // Completion is observed by the caller through the task itself.
    }

    public void OnCompleted(Action continuation) => UnsafeOnCompleted(continuation);

    public void UnsafeOnCompleted(Action continuation)
    {
        Engines.InProcessEngine owner = engine;
        task.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(
            () => owner.PostBookkeeping(continuation));
    }
}
