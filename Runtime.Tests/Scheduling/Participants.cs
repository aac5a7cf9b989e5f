namespace Isolates.Tests.Scheduling;

/// <summary>Starts a scenario's participants on named threads, so the scheduler gives each its own stream of choices (and priority).</summary>
internal static class Participants
{
    /// <summary>
    /// Runs <paramref name="body"/> on a new thread named <paramref name="name"/> (until its first await that does not
    /// complete at once; the rest runs where its continuations run) and returns its task.
    /// </summary>
    public static Task Start(string name, Func<Task> body)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            Task task;
            try
            {
                task = body();
            }
            catch (Exception ex)
            {
                done.TrySetException(ex);
                return;
            }

            _ = task.ContinueWith(t => done.TrySetFromTask(t), TaskScheduler.Default);
        })
        {
            IsBackground = true,
            Name = name,
        };
        thread.Start();
        return done.Task;
    }
}
