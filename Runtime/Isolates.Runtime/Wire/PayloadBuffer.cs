using System.Buffers;
using System.Diagnostics;
using System.Globalization;

namespace Isolates.Wire;

/// <summary>
/// The growable buffer a payload is encoded into. Unlike <see cref="ArrayBufferWriter{T}"/>, a value that would not
/// fit one payload (<see cref="Payload.MaxBytes"/>) fails with <see cref="IsolateSerializationException"/> naming the
/// size, before the buffer grows, instead of an <see cref="OutOfMemoryException"/> or <see cref="OverflowException"/>
/// from somewhere inside the encoder.
/// </summary>
internal sealed class PayloadBuffer(int initialCapacity) : IBufferWriter<byte>
{
    private byte[] _buffer = new byte[initialCapacity];
    private int _written;

    public int Capacity => _buffer.Length;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _written);

    public void Reset() => _written = 0;

    /// <summary>The written bytes in an array of their own; a copy that does not fit in memory fails like a buffer that does not.</summary>
    public byte[] ToArray()
    {
        try
        {
            return WrittenSpan.ToArray();
        }
        catch (OutOfMemoryException ex)
        {
            throw OutOfMemory(_written, ex);
        }
    }

    public void Advance(int count)
    {
        Debug.Assert(count >= 0 && count <= _buffer.Length - _written, "advanced past the span handed out");
        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    private void Ensure(int sizeHint)
    {
        if (sizeHint < 1)
        {
            sizeHint = 1;
        }

        if (_buffer.Length - _written < sizeHint)
        {
            Grow(sizeHint);
        }
    }

    private void Grow(int sizeHint)
    {
        long needed = (long)_written + sizeHint;
        int limit = Payload.MaxBytes;
        if (needed > limit)
        {
            throw new IsolateSerializationException(
                $"The value is too large to cross: its encoding reached {Format(_written)} bytes and needs {Format(sizeHint)} more, over the limit of {Format(limit)} bytes for one payload{(limit == Array.MaxLength ? " (the largest array .NET allows)" : string.Empty)}. Send large data in parts (through a channel) or as a SharedBuffer.");
        }

        int size = (int)Math.Max(needed, Math.Min((long)_buffer.Length * 2, limit));
        byte[] bigger;
        try
        {
            bigger = GC.AllocateUninitializedArray<byte>(size);
        }
        catch (OutOfMemoryException) when (size > needed)
        {
            bigger = AllocateExactly(needed); // doubling asked for more than the value needs; try what it needs
        }
        catch (OutOfMemoryException ex)
        {
            throw OutOfMemory(needed, ex);
        }

        _buffer.AsSpan(0, _written).CopyTo(bigger);
        _buffer = bigger;
    }

    private byte[] AllocateExactly(long needed)
    {
        try
        {
            return GC.AllocateUninitializedArray<byte>((int)needed);
        }
        catch (OutOfMemoryException ex)
        {
            throw OutOfMemory(needed, ex);
        }
    }

    private IsolateSerializationException OutOfMemory(long needed, OutOfMemoryException ex) =>
        new($"The value is too large to cross: its encoding reached {Format(_written)} bytes and a buffer of {Format(needed)} bytes could not be allocated (the limit for one payload is {Format(Payload.MaxBytes)} bytes).", ex);

    private static string Format(long bytes) => bytes.ToString("N0", CultureInfo.InvariantCulture);
}
