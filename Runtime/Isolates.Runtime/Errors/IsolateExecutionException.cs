using System.Text;

namespace Isolates;

/// <summary>
/// An exception thrown by code running inside an isolate, as seen by the caller. The original exception object
/// cannot cross the boundary (it would keep the isolate's types alive and could hold its objects), so what
/// crosses is its description: <see cref="RemoteType"/>, the original <see cref="Exception.Message"/>,
/// <see cref="RemoteStackTrace"/> and the inner-exception chain, each inner exception again an
/// <see cref="IsolateExecutionException"/>.
/// </summary>
public sealed class IsolateExecutionException : IsolateException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="isolateId">The id of the isolate the exception was thrown in.</param>
    /// <param name="isolateName">The name of that isolate.</param>
    /// <param name="remoteType">The full name of the original exception's type.</param>
    /// <param name="message">The original exception's message.</param>
    /// <param name="remoteStackTrace">The original stack trace, with file and line where symbols exist.</param>
    /// <param name="innerException">The original inner exception, converted the same way.</param>
    public IsolateExecutionException(
        long isolateId,
        string isolateName,
        string remoteType,
        string message,
        string? remoteStackTrace,
        IsolateExecutionException? innerException = null)
        : base(message, innerException)
    {
        ArgumentNullException.ThrowIfNull(remoteType);
        IsolateId = isolateId;
        IsolateName = isolateName ?? string.Empty;
        RemoteType = remoteType;
        RemoteStackTrace = remoteStackTrace;
    }

    /// <summary>The id of the isolate the exception was thrown in.</summary>
    public long IsolateId { get; }

    /// <summary>The name of the isolate the exception was thrown in.</summary>
    public string IsolateName { get; }

    /// <summary>The full name of the original exception's type, e.g. <c>System.InvalidOperationException</c>.</summary>
    public string RemoteType { get; }

    /// <summary>The original stack trace inside the isolate, with file and line numbers where symbols exist.</summary>
    public string? RemoteStackTrace { get; }

    /// <summary>
    /// For a failure inside <see cref="IsolatePool.MapAsync{T, TResult}(IEnumerable{T}, Func{T, TResult}, CancellationToken)"/>
    /// and its relatives: the index of the input item whose function call threw; otherwise null.
    /// </summary>
    public long? ItemIndex { get; internal set; }

    /// <summary>Gets the remote exception's inner exception, converted, or null.</summary>
    public IsolateExecutionException? RemoteInnerException => InnerException as IsolateExecutionException;

    /// <summary>Whether the original exception was of the given type (compared by full name).</summary>
    /// <typeparam name="TException">The exception type to compare with.</typeparam>
    /// <returns>True when <see cref="RemoteType"/> is the full name of <typeparamref name="TException"/>.</returns>
    public bool Is<TException>() where TException : Exception =>
        string.Equals(RemoteType, typeof(TException).FullName, StringComparison.Ordinal);

    /// <inheritdoc />
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append(GetType().FullName).Append(": ").Append(RemoteType).Append(" in isolate '")
            .Append(IsolateName).Append("' (").Append(IsolateId).Append(')');
        if (ItemIndex is long index)
        {
            text.Append(" for item ").Append(index);
        }

        text.Append(": ").Append(Message);
        if (InnerException is not null)
        {
            text.Append(" ---> ").Append(InnerException.ToString()).AppendLine().Append("   --- End of inner exception ---");
        }

        if (!string.IsNullOrEmpty(RemoteStackTrace))
        {
            text.AppendLine().Append(RemoteStackTrace);
        }

        if (StackTrace is { Length: > 0 } local)
        {
            text.AppendLine().AppendLine("   --- In the caller ---").Append(local);
        }

        return text.ToString();
    }
}
