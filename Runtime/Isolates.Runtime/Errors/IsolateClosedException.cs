namespace Isolates;

/// <summary>
/// Thrown when work is given to an isolate that is closing, closed or faulted, and used to fail calls that were
/// queued or still running when the isolate stopped. A call never hangs because its isolate went away: it
/// completes with this exception instead.
/// </summary>
public sealed class IsolateClosedException : IsolateException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="isolateId">The id of the isolate that is no longer running.</param>
    /// <param name="isolateName">The name of that isolate.</param>
    /// <param name="message">What happened to the work.</param>
    /// <param name="innerException">Why the isolate stopped, when it faulted.</param>
    public IsolateClosedException(long isolateId, string isolateName, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        IsolateId = isolateId;
        IsolateName = isolateName ?? string.Empty;
    }

    /// <summary>The id of the isolate that is no longer running.</summary>
    public long IsolateId { get; }

    /// <summary>The name of the isolate that is no longer running.</summary>
    public string IsolateName { get; }

    /// <summary>
    /// Whether the work never started (refused, or dropped from the queue before it ran): none of its code ran, so a
    /// pool may run it on another isolate without running it twice.
    /// </summary>
    internal bool NotStarted { get; init; }
}
