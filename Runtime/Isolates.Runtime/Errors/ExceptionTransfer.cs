using System.Text;

namespace Isolates.Errors;

/// <summary>
/// Turns an exception caught inside an isolate into one the caller may hold. The original object must not cross:
/// its stack trace references the isolate's methods (keeping the context alive) and it may reference the
/// isolate's objects. What crosses is a fresh exception built from strings.
/// </summary>
internal static class ExceptionTransfer
{
    private const int MaxInnerDepth = 16;

    /// <summary>The caller-side form of an exception thrown by isolate code.</summary>
    public static IsolateExecutionException ToRemote(Exception exception, long isolateId, string isolateName, int depth = 0)
    {
        Exception? innerException = null;
        try
        {
            innerException = exception.InnerException;
        }
        catch (Exception)
        {
            // an overridden InnerException that throws: report the outer exception alone
        }

        IsolateExecutionException? inner = innerException is not null && depth < MaxInnerDepth
            ? ToRemote(innerException, isolateId, isolateName, depth + 1)
            : null;
        return new IsolateExecutionException(
            isolateId,
            isolateName,
            exception.GetType().FullName ?? exception.GetType().Name,
            Read(static e => e.Message, exception) ?? $"({exception.GetType().Name}.Message threw)",
            TrimRuntimeFrames(Read(static e => e.StackTrace, exception)),
            inner);
    }

    /// <summary>Reads a property of an exception written by user code, which may itself throw.</summary>
    private static string? Read(Func<Exception, string?> getter, Exception exception)
    {
        try
        {
            return getter(exception);
        }
        catch (Exception)
        {
            return null;
        }
    }

    /// <summary>
    /// The caller-side form of an exception raised by the runtime's own plumbing inside the isolate (decoding
    /// arguments, encoding results): the same exception type, rebuilt without references into the isolate.
    /// </summary>
    public static Exception ToCaller(Exception exception, long isolateId, string isolateName) => exception switch
    {
        NotShareableException notShareable => new NotShareableException(
            notShareable.Type is { IsCollectible: false } type ? type : null, notShareable.MemberPath, notShareable.Message),
        IsolateSerializationException serialization => new IsolateSerializationException(
            serialization.Message,
            serialization.InnerException is null ? null : ToRemote(serialization.InnerException, isolateId, isolateName)),
        _ => ToRemote(exception, isolateId, isolateName),
    };

    /// <summary>Drops the frames of the runtime's dispatch machinery at the bottom of a remote stack trace.</summary>
    private static string? TrimRuntimeFrames(string? stackTrace)
    {
        if (string.IsNullOrEmpty(stackTrace))
        {
            return stackTrace;
        }

        string[] lines = stackTrace.Split('\n');
        int keep = lines.Length;
        while (keep > 1 && IsRuntimeFrame(lines[keep - 1]))
        {
            keep--;
        }

        var text = new StringBuilder();
        for (int i = 0; i < keep; i++)
        {
            text.Append(lines[i].TrimEnd('\r'));
            if (i < keep - 1)
            {
                text.Append('\n');
            }
        }

        return text.ToString();
    }

    private static bool IsRuntimeFrame(string line)
    {
        string frame = line.TrimStart();
        return frame.StartsWith("at Isolates.Calls.", StringComparison.Ordinal) ||
               frame.StartsWith("at Isolates.Dispatcher.", StringComparison.Ordinal) ||
               frame.StartsWith("at System.Reflection.", StringComparison.Ordinal) ||
               frame.StartsWith("at System.RuntimeMethodHandle.", StringComparison.Ordinal) ||
               frame.StartsWith("--- End of stack trace from previous location ---", StringComparison.Ordinal) ||
               frame.StartsWith("at System.Runtime.ExceptionServices.", StringComparison.Ordinal) ||
               frame.StartsWith("at System.Runtime.CompilerServices.TaskAwaiter", StringComparison.Ordinal);
    }
}
