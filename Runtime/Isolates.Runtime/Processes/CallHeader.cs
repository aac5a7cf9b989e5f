using System.Buffers;
using System.Reflection;
using Isolates.Calls;
using MessagePack;

namespace Isolates.Processes;

/// <summary>
/// Which function a call frame runs: the method by assembly identity and metadata token (as calls between in-process
/// isolates map it), the result shape and the trace context; the encoded arguments follow it in the frame.
/// </summary>
internal readonly record struct CallHeader(ResultShape Shape, string Assembly, int Token, string? TraceParent)
{
    public static CallHeader For(MethodInfo method, ResultShape shape, string? traceParent) =>
        new(shape, method.Module.Assembly.FullName!, method.MetadataToken, traceParent);

    /// <summary>Writes the header and then the payload, as one frame body.</summary>
    public byte[] Encode(ReadOnlySpan<byte> payload)
    {
        var buffer = new ArrayBufferWriter<byte>(64 + payload.Length);
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(4);
        writer.Write((byte)Shape);
        writer.Write(Assembly);
        writer.Write(Token);
        writer.Write(TraceParent);
        writer.Flush();
        buffer.Write(payload);
        return buffer.WrittenSpan.ToArray();
    }

    public static CallHeader Decode(ReadOnlyMemory<byte> body, out ReadOnlyMemory<byte> payload)
    {
        var reader = new MessagePackReader(body);
        _ = reader.ReadArrayHeader();
        var header = new CallHeader((ResultShape)reader.ReadByte(), reader.ReadString() ?? string.Empty, reader.ReadInt32(), reader.ReadString());
        payload = body[(int)reader.Consumed..];
        return header;
    }
}
