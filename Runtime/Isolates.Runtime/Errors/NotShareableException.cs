namespace Isolates;

/// <summary>
/// Thrown on the sending side, before anything is sent, when a function, an argument or a result cannot cross
/// an isolate boundary: a closure or a delegate bound to an object, or a type that is not shareable. The message
/// names the type and the member path (for example <c>Order.Stream: System.IO.Stream is not shareable</c>), so
/// the fix is obvious without a debugger.
/// </summary>
public sealed class NotShareableException : IsolateException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="type">The type that is not shareable (or that holds the member that is not).</param>
    /// <param name="memberPath">The path from the top-level value to the offending member, or empty.</param>
    /// <param name="message">The full explanation, including what to do instead.</param>
    public NotShareableException(Type? type, string memberPath, string message)
        : base(message)
    {
        Type = type;
        MemberPath = memberPath ?? string.Empty;
    }

    /// <summary>The type that is not shareable, when one is known.</summary>
    public Type? Type { get; }

    /// <summary>The member path from the top-level value to the offending member (empty at the top level).</summary>
    public string MemberPath { get; }
}
