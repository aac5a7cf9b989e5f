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

    public void Add(string? line, bool error)
    {
        if (line is null)
        {
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
