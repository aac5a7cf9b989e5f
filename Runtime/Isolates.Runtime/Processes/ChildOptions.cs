using System.Buffers;
using MessagePack;

namespace Isolates.Processes;

/// <summary>The options a child-process isolate is built with, as they cross in the hello frame.</summary>
internal sealed record ChildOptions(string Name, bool Collectible, string[] SharedAssemblies, TimeSpan CloseTimeout, int MaxQueuedCalls, int MaxStackSize, long MemoryLimit, TimeSpan BlockedThreadTimeout)
{
    public static ChildOptions From(IsolateOptions options, string name) =>
        new(name, options.Collectible, [.. options.SharedAssemblies], options.CloseTimeout, options.MaxQueuedCalls, options.MaxStackSize, options.MemoryLimit, options.BlockedThreadTimeout);

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
        writer.WriteArrayHeader(8);
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
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    public static ChildOptions Decode(ReadOnlyMemory<byte> bytes)
    {
        var reader = new MessagePackReader(bytes);
        _ = reader.ReadArrayHeader();
        string name = reader.ReadString() ?? "child";
        bool collectible = reader.ReadBoolean();
        var shared = new string[reader.ReadArrayHeader()];
        for (int i = 0; i < shared.Length; i++)
        {
            shared[i] = reader.ReadString() ?? string.Empty;
        }

        return new ChildOptions(name, collectible, shared, TimeSpan.FromTicks(reader.ReadInt64()), reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt64(), TimeSpan.FromTicks(reader.ReadInt64()));
    }
}
