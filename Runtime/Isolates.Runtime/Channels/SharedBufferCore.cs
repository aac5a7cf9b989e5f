namespace Isolates.Channels;

/// <summary>The shared state behind every handle of a <see cref="SharedBuffer"/>: the bytes and the reference count.</summary>
internal sealed class SharedBufferCore(byte[] bytes)
{
    private byte[]? _bytes = bytes;
    private int _references = 1;

    public int Length { get; } = bytes.Length;

    public int References => Volatile.Read(ref _references);

    public ReadOnlyMemory<byte> Bytes => Volatile.Read(ref _bytes) ?? throw new ObjectDisposedException(nameof(SharedBuffer), "Every handle to this shared buffer was disposed.");

    /// <summary>Adds a reference for a handle in flight to a receiver; fails if the block was already released.</summary>
    public void AddReference()
    {
        int current;
        do
        {
            current = Volatile.Read(ref _references);
            if (current == 0)
            {
                throw new ObjectDisposedException(nameof(SharedBuffer), "The shared buffer was released before it could be sent.");
            }
        }
        while (Interlocked.CompareExchange(ref _references, current + 1, current) != current);
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            Volatile.Write(ref _bytes, null); // the last holder let go: the array is garbage now
        }
    }
}
