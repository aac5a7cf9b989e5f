using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Isolates.Channels;
using Isolates.Wire;

namespace Isolates.Processes;

/// <summary>
/// How a bridged channel's buffered entries cross the pipe: an encoded channel's messages as their bytes (both
/// processes encode with the same codecs of the same assemblies), a channel of a framework element type as that value
/// encoded. A frame body is a run of items, each <c>[int32 length][bytes]</c>.
/// </summary>
/// <typeparam name="TBuffered">What the channel's buffer holds: <see cref="Message"/>, or the element itself.</typeparam>
internal abstract class BridgeItems<TBuffered>
{
    /// <summary>Appends one item, length first; throws <see cref="NotShareableException"/> for an item that cannot leave the process.</summary>
    public abstract void Append(TBuffered item, ArrayBufferWriter<byte> frame);

    /// <summary>Rebuilds one item from its bytes.</summary>
    public abstract TBuffered Read(ReadOnlySpan<byte> bytes);

    /// <summary>Starts a frame: room for the pipe's header, filled in by <see cref="FramedSocket.TrySendFramed"/>.</summary>
    public static void BeginFrame(ArrayBufferWriter<byte> frame)
    {
        frame.ResetWrittenCount();
        frame.Advance(FramedSocket.HeaderSize);
    }

    /// <summary>Sends the frame begun with <see cref="BeginFrame"/>; false when the pipe is closed.</summary>
    public static bool Send(FramedSocket pipe, long bridge, ArrayBufferWriter<byte> frame)
    {
        bool isArray = MemoryMarshal.TryGetArray(frame.WrittenMemory, out ArraySegment<byte> segment);
        System.Diagnostics.Debug.Assert(isArray && segment.Offset == 0, "ArrayBufferWriter writes into one array from its start");
        return pipe.TrySendFramed(FrameType.ChannelItems, bridge, segment.Array!, frame.WrittenCount);
    }

    /// <summary>The next item of a frame body at <paramref name="position"/>, which moves past it.</summary>
    public static ReadOnlySpan<byte> Next(byte[] body, ref int position)
    {
        int length = BinaryPrimitives.ReadInt32LittleEndian(body.AsSpan(position));
        if (length < 0 || length > body.Length - position - 4)
        {
            throw new InvalidDataException($"A channel item on the child-process pipe announced {length} bytes: the stream is corrupted.");
        }

        ReadOnlySpan<byte> item = body.AsSpan(position + 4, length);
        position += 4 + length;
        return item;
    }

    protected static void AppendBytes(ReadOnlySpan<byte> bytes, ArrayBufferWriter<byte> frame)
    {
        Span<byte> room = frame.GetSpan(4 + bytes.Length);
        BinaryPrimitives.WriteInt32LittleEndian(room, bytes.Length);
        bytes.CopyTo(room[4..]);
        frame.Advance(4 + bytes.Length);
    }
}

/// <summary>An encoded channel's messages, moved as their bytes.</summary>
internal sealed class MessageItems : BridgeItems<Message>
{
    public static readonly MessageItems Instance = new();

    public override void Append(Message item, ArrayBufferWriter<byte> frame)
    {
        if (item.HasAttachments)
        {
            throw new NotShareableException(null, string.Empty,
                "A channel item holds a channel end, a shared buffer or a proxy; inside a channel's items those cannot cross to or from a child-process isolate (they are objects of one process). "
                + "Pass channel ends and proxies to the child as call arguments (proxies also as results), or send the data they stand for.");
        }

        Span<byte> room = frame.GetSpan(4 + item.Length);
        BinaryPrimitives.WriteInt32LittleEndian(room, item.Length);
        _ = item.CopyEncoded(room[4..]);
        frame.Advance(4 + item.Length);
    }

    public override Message Read(ReadOnlySpan<byte> bytes) => Message.FromEncoded(bytes);
}

/// <summary>A channel of a framework element type (buffered as the values themselves): each value encoded.</summary>
internal sealed class DirectItems<TElement> : BridgeItems<TElement>
{
    public static readonly DirectItems<TElement> Instance = new();

    private readonly Codec _codec = CodecFactory.Get(typeof(TElement));

    public override void Append(TElement item, ArrayBufferWriter<byte> frame) =>
        AppendBytes(Payload.EncodeOne(_codec, null, item, out _), frame); // a framework value has no attachments

    public override TElement Read(ReadOnlySpan<byte> bytes) => Payload.DecodeOne<TElement>(bytes, _codec, null, null);
}
