using MessagePack;

namespace Isolates.Processes;

/// <summary>
/// An object of the host passed into a child-process isolate (a proxy among a call's arguments, in an object call's
/// result, or a host service): the attachment it is in the payload, the id the host exported it under, and what it is,
/// for the child's proxies and messages (its interface, its description, the isolate it lives in: 0 and "host" for a
/// host service). The child calls it back through the host (<see cref="ChildObjects"/>, <see cref="HostObjects"/>).
/// </summary>
internal readonly record struct ObjectSpec(int Index, long Export, string InterfaceName, string Description, long OwnerId, string OwnerName)
{
    public bool IsHostService => OwnerId == 0;

    /// <summary>Tells the other side it is done with <paramref name="count"/> of its sends of object <paramref name="id"/> (either way: see FrameType.ObjectDrop).</summary>
    public static void SendDrop(FramedSocket pipe, long id, long count)
    {
        Span<byte> body = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(body, count);
        pipe.TrySend(FrameType.ObjectDrop, id, body);
    }

    public static void Write(ref MessagePackWriter writer, ObjectSpec[] specs)
    {
        writer.WriteArrayHeader(specs.Length);
        foreach (ObjectSpec spec in specs)
        {
            writer.WriteArrayHeader(6);
            writer.Write(spec.Index);
            writer.Write(spec.Export);
            writer.Write(spec.InterfaceName);
            writer.Write(spec.Description);
            writer.Write(spec.OwnerId);
            writer.Write(spec.OwnerName);
        }
    }

    public static ObjectSpec[] Read(ref MessagePackReader reader)
    {
        var specs = new ObjectSpec[reader.ReadArrayHeader()];
        for (int i = 0; i < specs.Length; i++)
        {
            int fields = reader.ReadArrayHeader();
            if (fields != 6)
            {
                throw new IsolateSerializationException($"An object spec of {fields} fields where 6 were expected: the pipe is corrupted.");
            }

            specs[i] = new ObjectSpec(reader.ReadInt32(), reader.ReadInt64(), reader.ReadString() ?? string.Empty, reader.ReadString() ?? string.Empty, reader.ReadInt64(), reader.ReadString() ?? string.Empty);
        }

        return specs;
    }

    /// <summary>A frame body that starts with specs (an object call's result): the specs, and where the payload begins.</summary>
    public static ObjectSpec[] ReadPrefix(ReadOnlyMemory<byte> body, out ReadOnlyMemory<byte> payload)
    {
        var reader = new MessagePackReader(body);
        ObjectSpec[] specs = Read(ref reader);
        payload = body[(int)reader.Consumed..];
        return specs;
    }
}

/// <summary>
/// A proxy a child-process isolate sends to its host (in a result, or among an object call's arguments): either one of
/// the host's own objects, by the export id the host gave it, or an object living in the child's isolate, by its id
/// there (the child counts the send, see <see cref="ChildObjects"/>).
/// </summary>
internal readonly record struct SentObject(bool ChildOwned, long Id, string InterfaceName)
{
    public static void Write(ref MessagePackWriter writer, SentObject[] sent)
    {
        writer.WriteArrayHeader(sent.Length);
        foreach (SentObject one in sent)
        {
            writer.WriteArrayHeader(3);
            writer.Write(one.ChildOwned);
            writer.Write(one.Id);
            writer.Write(one.InterfaceName);
        }
    }

    public static SentObject[] Read(ref MessagePackReader reader)
    {
        var sent = new SentObject[reader.ReadArrayHeader()];
        for (int i = 0; i < sent.Length; i++)
        {
            if (reader.ReadArrayHeader() != 3)
            {
                throw new IsolateSerializationException("A sent object of the wrong shape: the pipe is corrupted.");
            }

            sent[i] = new SentObject(reader.ReadBoolean(), reader.ReadInt64(), reader.ReadString() ?? string.Empty);
        }

        return sent;
    }
}
