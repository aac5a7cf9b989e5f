namespace Isolates;

/// <summary>
/// The isolate's thread blocked in a synchronous wait (<c>.Result</c>, <c>.Wait()</c>, <c>GetAwaiter().GetResult()</c>)
/// while a continuation posted to the isolate's own queue waited behind it for longer than
/// <see cref="IsolateOptions.BlockedThreadTimeout"/>: the wait can never end, because only that thread can run the
/// continuation. The call that was running fails with this exception; the isolate is faulted (its
/// <see cref="Isolate.Completion"/> faults and <see cref="Isolate.Exited"/> reports <see cref="IsolateExitReason.Faulted"/>),
/// and calls queued to it fail with <see cref="IsolateClosedException"/>. Use <c>await</c> in isolate code instead.
/// </summary>
public sealed class IsolateDeadlockException : IsolateException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="isolateId">The id of the deadlocked isolate.</param>
    /// <param name="isolateName">The name of that isolate.</param>
    /// <param name="blockedIn">What was running on the isolate's thread, e.g. "a call of Orders.Total".</param>
    /// <param name="message">What happened and what to do.</param>
    public IsolateDeadlockException(long isolateId, string isolateName, string blockedIn, string message)
        : base(message)
    {
        IsolateId = isolateId;
        IsolateName = isolateName ?? string.Empty;
        BlockedIn = blockedIn ?? string.Empty;
    }

    /// <summary>The id of the deadlocked isolate.</summary>
    public long IsolateId { get; }

    /// <summary>The name of the deadlocked isolate.</summary>
    public string IsolateName { get; }

    /// <summary>What was running on the isolate's thread when it was found blocked, e.g. "a call of Orders.Total".</summary>
    public string BlockedIn { get; }

    /// <summary>For the log: how long the thread had been seen blocked, and what waited behind it.</summary>
    internal TimeSpan BlockedFor { get; init; }

    internal string Waiting { get; init; } = string.Empty;
}
