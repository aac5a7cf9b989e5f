namespace Isolates;

/// <summary>
/// Thrown when bytes that should hold a value cannot be decoded into the receiver's type: a corrupted or truncated
/// payload, or a value that does not fit the declared type. Decoding never crashes, hangs or yields a wrong value;
/// it fails with this exception.
/// </summary>
public sealed class IsolateSerializationException : IsolateException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What could not be encoded or decoded, and where.</param>
    /// <param name="innerException">The decoder's own error, if any.</param>
    public IsolateSerializationException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
