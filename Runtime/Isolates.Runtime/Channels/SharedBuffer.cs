using Isolates.Channels;

namespace Isolates;

/// <summary>
/// A large, read-only block of bytes (a model, a lookup table, a file) that isolates share without copying. Passing a
/// <see cref="SharedBuffer"/> as an argument, result or channel message hands the receiver its own handle to the same
/// memory. The memory lives until every handle is disposed (or, for handles nobody disposes, until they are all
/// garbage): reference counted, never freed under a reader's feet.
/// </summary>
/// <remarks>
/// The bytes are kept in one managed array, so there is no unmanaged memory to leak and no use after free: a disposed
/// handle throws <see cref="ObjectDisposedException"/>, while other handles keep working. Nothing can write to the
/// block after it is created; that is what makes sharing it safe.
/// </remarks>
public sealed class SharedBuffer : IDisposable
{
    private readonly SharedBufferCore _core;
    private int _disposed;

    private SharedBuffer(SharedBufferCore core) => _core = core;

    /// <summary>How many bytes the block holds.</summary>
    public int Length => _core.Length;

    /// <summary>The bytes, read-only. Valid while this handle is not disposed.</summary>
    /// <exception cref="ObjectDisposedException">This handle was disposed.</exception>
    public ReadOnlyMemory<byte> Memory
    {
        get
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            return _core.Bytes;
        }
    }

    /// <summary>The bytes as a span, read-only.</summary>
    /// <exception cref="ObjectDisposedException">This handle was disposed.</exception>
    public ReadOnlySpan<byte> Span => Memory.Span;

    /// <summary>How many live handles share the block, across every isolate (for diagnostics and tests).</summary>
    public int Holders => _core.References;

    internal SharedBufferCore Core => _core;

    /// <summary>Creates a shared block holding a copy of <paramref name="data"/> (the only copy ever made).</summary>
    /// <param name="data">The bytes.</param>
    /// <returns>The first handle to the block.</returns>
    public static SharedBuffer Create(ReadOnlySpan<byte> data) => new(new SharedBufferCore(data.ToArray()));

    /// <summary>Creates a shared block from an array the caller gives up: no copy is made, so the caller must not change it afterwards.</summary>
    /// <param name="data">The bytes; ownership passes to the buffer.</param>
    /// <returns>The first handle to the block.</returns>
    public static SharedBuffer Adopt(byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return new(new SharedBufferCore(data));
    }

    /// <summary>Creates a shared block with the contents of a file.</summary>
    /// <param name="path">The file to read.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The first handle to the block.</returns>
    public static async Task<SharedBuffer> FromFileAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Adopt(await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Releases this handle; the block is released when the last handle is.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _core.Release();
        }
    }

    /// <summary>A new handle to the same block, for a receiver; takes over one reference the sender added.</summary>
    internal static SharedBuffer ForReceiver(SharedBufferCore core) => new(core);
}
