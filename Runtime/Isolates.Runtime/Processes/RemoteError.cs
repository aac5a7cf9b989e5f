using System.Buffers;
using Isolates.Errors;
using MessagePack;

namespace Isolates.Processes;

/// <summary>
/// An error crossing from a child-process isolate to its host: the same exception types a caller gets from an
/// in-process isolate, rebuilt with the host-side isolate's id and name. Only text crosses (type names, messages, stack
/// traces), never an exception object, exactly as between in-process isolates.
/// </summary>
internal static class RemoteError
{
    private enum Kind
    {
        Execution = 0,
        NotShareable = 1,
        Serialization = 2,
        Closed = 3,
        Cancelled = 4,
        Deadlock = 5,
        ClosedNotStarted = 6, // refused by the child's isolate before it ran: a pool may run it elsewhere (IsolateClosedException.NotStarted)
    }

    /// <summary>Encodes an exception met in the child (already transferred for in-process callers, or raw).</summary>
    public static byte[] Encode(Exception exception, long isolateId, string isolateName)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        var writer = new MessagePackWriter(buffer);
        Write(ref writer, exception, isolateId, isolateName, depth: 0);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    private static void Write(ref MessagePackWriter writer, Exception exception, long isolateId, string isolateName, int depth)
    {
        writer.WriteArrayHeader(5);
        switch (exception)
        {
            case NotShareableException:
                writer.Write((int)Kind.NotShareable);
                break;
            case IsolateSerializationException:
                writer.Write((int)Kind.Serialization);
                break;
            case IsolateClosedException closed:
                writer.Write((int)(closed.NotStarted ? Kind.ClosedNotStarted : Kind.Closed));
                break;
            case IsolateDeadlockException:
                writer.Write((int)Kind.Deadlock);
                break;
            case OperationCanceledException:
                writer.Write((int)Kind.Cancelled);
                break;
            default:
                writer.Write((int)Kind.Execution);
                break;
        }

        if (exception is not IsolateException and not OperationCanceledException)
        {
            exception = ExceptionTransfer.ToRemote(exception, isolateId, isolateName); // user code's exception: as text
        }

        var remote = exception as IsolateExecutionException;
        writer.Write(remote?.RemoteType ?? exception.GetType().FullName);
        writer.Write(exception.Message);
        writer.Write(remote?.RemoteStackTrace ?? (exception as IsolateDeadlockException)?.BlockedIn);
        if (exception.InnerException is Exception inner && depth < 16)
        {
            Write(ref writer, inner, isolateId, isolateName, depth + 1);
        }
        else
        {
            writer.WriteNil();
        }
    }

    /// <summary>Rebuilds the error as the host-side exception; null means the call was cancelled in the child.</summary>
    public static Exception? Decode(ReadOnlyMemory<byte> bytes, long isolateId, string isolateName)
    {
        var reader = new MessagePackReader(bytes);
        return Read(ref reader, isolateId, isolateName, depth: 0);
    }

    private static Exception? Read(ref MessagePackReader reader, long isolateId, string isolateName, int depth)
    {
        if (depth > 16 || reader.TryReadNil())
        {
            return null;
        }

        int count = reader.ReadArrayHeader();
        if (count != 5)
        {
            throw new IsolateSerializationException($"A child-process isolate sent an error of {count} fields where 5 were expected: the pipe is corrupted.");
        }

        var kind = (Kind)reader.ReadInt32();
        string type = reader.ReadString() ?? "System.Exception";
        string message = reader.ReadString() ?? string.Empty;
        string? stack = reader.ReadString();
        Exception? inner = Read(ref reader, isolateId, isolateName, depth + 1);
        return kind switch
        {
            Kind.NotShareable => new NotShareableException(null, string.Empty, message),
            Kind.Serialization => new IsolateSerializationException(message, inner),
            Kind.Closed => new IsolateClosedException(isolateId, isolateName, message, inner),
            Kind.ClosedNotStarted => new IsolateClosedException(isolateId, isolateName, message, inner) { NotStarted = true },
            Kind.Cancelled => null,
            Kind.Deadlock => new IsolateDeadlockException(isolateId, isolateName, stack ?? string.Empty, message),
            _ => new IsolateExecutionException(isolateId, isolateName, type, message, stack, inner as IsolateExecutionException),
        };
    }
}
