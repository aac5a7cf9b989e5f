namespace Isolates.Dispatcher;

/// <summary>Something an isolate's thread runs once the work item it is running returns.</summary>
internal interface ITurnEndAction
{
    void OnTurnEnd();
}

/// <summary>
/// Work deferred to the end of the isolate's current turn (the work item its thread is running). A channel reader
/// uses it to wake blocked writers once per batch of reads instead of once per item: the turn ends, at the latest,
/// when the reading code awaits, so a writer is never left waiting while the reader waits for something else.
/// Threads that are not isolate threads have no turns; <see cref="TryDefer"/> then says no and the caller acts now.
/// </summary>
internal static class TurnEnd
{
    [ThreadStatic]
    private static List<ITurnEndAction>? t_pending;

    /// <summary>Called by an isolate's thread before it runs any item.</summary>
    public static void Begin() => t_pending = [];

    /// <summary>Defers <paramref name="action"/> to the end of this turn; false when not on an isolate's thread.</summary>
    public static bool TryDefer(ITurnEndAction action)
    {
        if (t_pending is not { } pending)
        {
            return false;
        }

        if (!pending.Contains(action))
        {
            pending.Add(action); // once per turn, however many reads asked
        }

        return true;
    }

    /// <summary>
    /// Runs what the turn deferred (actions deferred meanwhile run too), every one even if some throw; then throws
    /// what they threw. Only the isolate's thread calls this.
    /// </summary>
    public static void Run()
    {
        if (t_pending is not { Count: > 0 } pending)
        {
            return;
        }

        List<Exception>? errors = null;
        for (int i = 0; i < pending.Count; i++)
        {
            try
            {
                pending[i].OnTurnEnd();
            }
            catch (Exception ex)
            {
                (errors ??= []).Add(ex); // the others must still run
            }
        }

        pending.Clear();
        if (errors is not null)
        {
            throw new AggregateException("Work deferred to the end of an isolate's turn failed.", errors);
        }
    }

    /// <summary>Runs what is left and stops deferring; called when the isolate's thread leaves its loop.</summary>
    public static void End()
    {
        Run();
        t_pending = null;
    }
}
