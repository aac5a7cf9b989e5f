using System.Buffers;
using MessagePack;

namespace Isolates.Wire;

/// <summary><c>ReadOnlyMemory&lt;byte&gt;</c> and <c>Memory&lt;byte&gt;</c>: copied as one binary block; the receiver gets its own array.</summary>
internal sealed class BytesCodec : Codec
{
    private readonly bool _readOnly;

    private BytesCodec(Type type, bool readOnly)
        : base(type) => _readOnly = readOnly;

    public static BytesCodec? TryCreate(Type type) =>
        type == typeof(ReadOnlyMemory<byte>) ? new BytesCodec(type, readOnly: true)
        : type == typeof(Memory<byte>) ? new BytesCodec(type, readOnly: false)
        : null;

    public override void Write(ref MessagePackWriter writer, object? value, int depth)
    {
        ReadOnlySpan<byte> span = value switch
        {
            ReadOnlyMemory<byte> memory => memory.Span,
            Memory<byte> memory => memory.Span,
            _ => default,
        };
        writer.Write(span);
    }

    public override object? Read(ref MessagePackReader reader, int depth)
    {
        ReadOnlySequence<byte> sequence = reader.TryReadNil() ? default : reader.ReadBytes() ?? default;
        if (sequence.IsEmpty)
        {
            return _readOnly ? (object)ReadOnlyMemory<byte>.Empty : Memory<byte>.Empty; // the default an empty block was sent as, not a new empty array
        }

        byte[] bytes = sequence.ToArray();
        return _readOnly ? (object)new ReadOnlyMemory<byte>(bytes) : new Memory<byte>(bytes); // boxed as itself: a bare ?: would turn the Memory into a ReadOnlyMemory
    }
}
