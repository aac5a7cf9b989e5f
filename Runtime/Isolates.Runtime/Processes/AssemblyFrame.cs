using System.Buffers;
using MessagePack;

namespace Isolates.Processes;

/// <summary>An in-memory assembly (a compiled script) sent to a child-process isolate: simple name, image, symbols.</summary>
internal static class AssemblyFrame
{
    public static byte[] Encode(string name, byte[] image, byte[]? symbols)
    {
        var buffer = new ArrayBufferWriter<byte>(image.Length + (symbols?.Length ?? 0) + 64);
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(3);
        writer.Write(name);
        writer.Write(image);
        writer.Write(symbols);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    public static (string Name, byte[] Image, byte[]? Symbols) Decode(ReadOnlyMemory<byte> body)
    {
        var reader = new MessagePackReader(body);
        _ = reader.ReadArrayHeader();
        string name = reader.ReadString() ?? string.Empty;
        byte[] image = reader.ReadBytes()?.ToArray() ?? [];
        byte[]? symbols = reader.ReadBytes()?.ToArray();
        return (name, image, symbols);
    }
}
