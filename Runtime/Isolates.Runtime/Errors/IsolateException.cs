namespace Isolates;

/// <summary>
/// The base of every exception the Isolates runtime throws, so that host code can catch "anything that went
/// wrong with an isolate" in one clause while still telling the specific cases apart by type.
/// </summary>
public abstract class IsolateException : Exception
{
    /// <summary>Creates the exception with a message and an optional cause.</summary>
    /// <param name="message">What went wrong and what to do about it.</param>
    /// <param name="innerException">The cause, if any.</param>
    protected IsolateException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
