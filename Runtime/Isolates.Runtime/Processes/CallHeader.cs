using System.Buffers;
using System.Reflection;
using Isolates.Calls;
using MessagePack;

namespace Isolates.Processes;

/// <summary>
/// Which function a call frame runs: the method by assembly identity and metadata token (as calls between in-process
/// isolates map it), the result shape and the trace context; the encoded arguments follow it in the frame.
/// </summary>
internal readonly record struct CallHeader(ResultShape Shape, string Assembly, int Token, string? TraceParent, TypeName[] GenericArguments)
{
    /// <summary>The channel ends among the arguments: each is bridged over the pipe (ChannelBridge).</summary>
    public ChannelSpec[] Channels { get; init; } = [];

    /// <summary>The proxies among the arguments: objects of the host the child calls back (ChildObjects).</summary>
    public ObjectSpec[] Objects { get; init; } = [];

    public static CallHeader For(MethodInfo method, ResultShape shape, string? traceParent)
    {
        if (method.DeclaringType is { IsGenericType: true })
        {
            throw new NotShareableException(method.DeclaringType, string.Empty,
                $"{method.DeclaringType}.{method.Name} is a method of a generic type; a child-process isolate finds functions by assembly and metadata token, which name only methods of non-generic types. Call a static wrapper on a non-generic class.");
        }

        TypeName[] arguments = [];
        if (method.IsGenericMethod)
        {
            arguments = [.. method.GetGenericArguments().Select(TypeName.Of)];
            method = method.GetGenericMethodDefinition();
        }

        return new(shape, method.Module.Assembly.FullName!, method.MetadataToken, traceParent, arguments);
    }

    /// <summary>Writes the header and then the payload, as one frame body.</summary>
    public byte[] Encode(ReadOnlySpan<byte> payload)
    {
        var buffer = new ArrayBufferWriter<byte>(64 + payload.Length);
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(7);
        writer.Write((byte)Shape);
        writer.Write(Assembly);
        writer.Write(Token);
        writer.Write(TraceParent);
        writer.WriteArrayHeader(GenericArguments.Length);
        foreach (TypeName argument in GenericArguments)
        {
            writer.Write(argument.Assembly);
            writer.Write(argument.Token);
        }

        writer.WriteArrayHeader(Channels.Length);
        foreach (ChannelSpec channel in Channels)
        {
            writer.WriteArrayHeader(7);
            writer.Write(channel.Bridge);
            writer.Write(channel.ChildWrites);
            writer.Write(channel.ElementTypeName);
            writer.Write(channel.DirectType);
            writer.Write(channel.Window);
            writer.Write(channel.SurvivesWriterFaults);
            writer.Write(channel.Index);
        }

        ObjectSpec.Write(ref writer, Objects);

        writer.Flush();
        buffer.Write(payload);
        return buffer.WrittenSpan.ToArray();
    }

    public static CallHeader Decode(ReadOnlyMemory<byte> body, out ReadOnlyMemory<byte> payload)
    {
        var reader = new MessagePackReader(body);
        int fields = reader.ReadArrayHeader();
        var shape = (ResultShape)reader.ReadByte();
        string assembly = reader.ReadString() ?? string.Empty;
        int token = reader.ReadInt32();
        string? traceParent = reader.ReadString();
        var arguments = new TypeName[reader.ReadArrayHeader()];
        for (int i = 0; i < arguments.Length; i++)
        {
            arguments[i] = new TypeName(reader.ReadString() ?? string.Empty, reader.ReadInt32());
        }

        var channels = new ChannelSpec[fields > 5 ? reader.ReadArrayHeader() : 0];
        for (int i = 0; i < channels.Length; i++)
        {
            int specFields = reader.ReadArrayHeader();
            channels[i] = new ChannelSpec(reader.ReadInt64(), reader.ReadBoolean(), reader.ReadString() ?? string.Empty, reader.ReadString(), reader.ReadInt32())
            {
                SurvivesWriterFaults = specFields > 5 && reader.ReadBoolean(),
                Index = specFields > 6 ? reader.ReadInt32() : i,
            };
        }

        ObjectSpec[] objects = fields > 6 ? ObjectSpec.Read(ref reader) : [];
        var header = new CallHeader(shape, assembly, token, traceParent, arguments) { Channels = channels, Objects = objects };
        payload = body[(int)reader.Consumed..];
        return header;
    }
}

/// <summary>A non-generic type named by its assembly's identity and its metadata token (a generic argument of a called method).</summary>
internal readonly record struct TypeName(string Assembly, int Token)
{
    public static TypeName Of(Type type) =>
        type.IsGenericType || type.HasElementType || type.IsGenericParameter || type.Assembly.IsDynamic
            ? throw new NotShareableException(type, string.Empty,
                $"The function's generic argument {type} cannot be named in a child process (only non-generic, non-array types of the application's assemblies can); call a non-generic wrapper.")
            : new TypeName(type.Assembly.FullName!, type.MetadataToken);
}

/// <summary>
/// A channel end passed to a child: the bridge that carries it, its direction (the child writes, or the child reads),
/// the element type's full name, the assembly-qualified name of a framework element type whose values the channel
/// buffers as they are (null for an encoded channel), and the window (items in flight at most).
/// </summary>
internal readonly record struct ChannelSpec(long Bridge, bool ChildWrites, string ElementTypeName, string? DirectType, int Window)
{
    /// <summary>The host channel outlives a writer that faults (a supervising host restarts it); the child's end behaves alike.</summary>
    public bool SurvivesWriterFaults { get; init; }

    /// <summary>The attachment the end is in the payload (channels and proxies share the attachment list).</summary>
    public int Index { get; init; }
}
