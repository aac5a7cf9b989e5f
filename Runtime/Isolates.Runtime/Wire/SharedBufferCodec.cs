using Isolates.Channels;
using MessagePack;

namespace Isolates.Wire;

/// <summary>
/// A <see cref="SharedBuffer"/> crosses by reference: the sender adds a reference for the handle in flight, and the
/// receiver's new handle takes it over. No bytes of the block are copied.
/// </summary>
internal sealed class SharedBufferCodec() : Codec(typeof(SharedBuffer))
{
    public override bool PassAsIs => false;

    public override void Write(ref MessagePackWriter writer, object? value, int depth)
    {
        if (value is not SharedBuffer buffer)
        {
            writer.WriteNil();
            return;
        }

        SharedBufferCore core = buffer.Core;
        core.AddReference();
        writer.Write(Payload.Attach(core));
    }

    public override object? Read(ref MessagePackReader reader, int depth) =>
        reader.TryReadNil()
            ? null
            : Payload.Attached(reader.ReadInt32()) is SharedBufferCore core
                ? SharedBuffer.ForReceiver(core)
                : throw new IsolateSerializationException("A shared buffer refers to an attachment that is not a buffer.");
}
