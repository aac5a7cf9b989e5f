namespace Isolates.Processes;

/// <summary>
/// The child's standard output and error: forwarded line by line to the host's own (as a child process inherits its
/// parent's console), and the last lines kept, because they are what explains a crash (the runtime prints
/// "Stack overflow." or the unhandled exception there before it ends the process).
/// </summary>
internal sealed class OutputTail
{
    private const int Kept = 20;
    private readonly Queue<string> _lines = new();
    private readonly Lock _lock = new();
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _open = 2; // standard output and error

    /// <summary>Completes when both streams reached their end: the child, and every process that inherited them, closed them.</summary>
    public Task Drained => _drained.Task;

    public void Add(string? line, bool error)
    {
        if (line is null)
        {
            if (Interlocked.Decrement(ref _open) == 0)
            {
                _drained.TrySetResult(); // the end of a stream is reported once, as a null line
            }

            return;
        }

        lock (_lock)
        {
            if (_lines.Count == Kept)
            {
                _lines.Dequeue();
            }

            _lines.Enqueue(line);
        }

        try
        {
            (error ? Console.Error : Console.Out).WriteLine(line);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // the host's console is gone; the lines are still kept
        }
    }

    public string[] Snapshot()
    {
        lock (_lock)
        {
            return [.. _lines];
        }
    }
}
