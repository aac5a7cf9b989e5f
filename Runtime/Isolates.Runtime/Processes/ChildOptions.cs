using System.Buffers;
using MessagePack;

namespace Isolates.Processes;

/// <summary>The options a child-process isolate is built with, as they cross in the hello frame.</summary>
internal sealed record ChildOptions(string Name, bool Collectible, string[] SharedAssemblies, TimeSpan CloseTimeout, int MaxQueuedCalls, int MaxStackSize, long MemoryLimit, TimeSpan BlockedThreadTimeout)
{
    /// <summary>The host services of the isolate, exported by the host for the child's whole life (<see cref="HostObjects"/>).</summary>
    public ObjectSpec[] Services { get; init; } = [];

    public static ChildOptions From(IsolateOptions options, string name) =>
        new(name, options.Collectible, [.. options.SharedAssemblies], options.CloseTimeout, options.MaxQueuedCalls, options.MaxStackSize, options.MemoryLimit, options.BlockedThreadTimeout);

    /// <summary>The child isolate's options; its host services are the host's, imported through <paramref name="objects"/>.</summary>
    public IsolateOptions ToIsolateOptions(ChildObjects objects) => ToIsolateOptions() with { HostServices = ImportServices(objects) };

    private IsolateHostServices? ImportServices(ChildObjects objects)
    {
        if (Services.Length == 0)
        {
            return null;
        }

        var services = new IsolateHostServices();
        foreach (ObjectSpec spec in Services)
        {
            services.AddImported(spec.InterfaceName, objects.Import(spec));
        }

        return services;
    }

    public IsolateOptions ToIsolateOptions() => new()
    {
        Name = Name,
        Collectible = Collectible,
        SharedAssemblies = SharedAssemblies,
        CloseTimeout = CloseTimeout,
        MaxQueuedCalls = MaxQueuedCalls,
        MaxStackSize = MaxStackSize,
        BlockedThreadTimeout = BlockedThreadTimeout,
        WaitForUnload = false, // the process ends right after: nothing to wait for
    };

    public byte[] Encode()
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(9);
        writer.Write(Name);
        writer.Write(Collectible);
        writer.WriteArrayHeader(SharedAssemblies.Length);
        foreach (string shared in SharedAssemblies)
        {
            writer.Write(shared);
        }

        writer.Write(CloseTimeout.Ticks);
        writer.Write(MaxQueuedCalls);
        writer.Write(MaxStackSize);
        writer.Write(MemoryLimit);
        writer.Write(BlockedThreadTimeout.Ticks);
        ObjectSpec.Write(ref writer, Services);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    public static ChildOptions Decode(ReadOnlyMemory<byte> bytes)
    {
        var reader = new MessagePackReader(bytes);
        int fields = reader.ReadArrayHeader();
        string name = reader.ReadString() ?? "child";
        bool collectible = reader.ReadBoolean();
        var shared = new string[reader.ReadArrayHeader()];
        for (int i = 0; i < shared.Length; i++)
        {
            shared[i] = reader.ReadString() ?? string.Empty;
        }

        var options = new ChildOptions(name, collectible, shared, TimeSpan.FromTicks(reader.ReadInt64()), reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt64(), TimeSpan.FromTicks(reader.ReadInt64()));
        return fields > 8 ? options with { Services = ObjectSpec.Read(ref reader) } : options;
    }
}
