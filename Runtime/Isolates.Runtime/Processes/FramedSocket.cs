using System.Buffers.Binary;
using System.Net.Sockets;

namespace Isolates.Processes;

/// <summary>
/// One end of the pipe between a host and a child-process isolate: length-prefixed frames
/// (<c>[int32 body length][byte type][int64 id][body]</c>) over a Unix domain socket. Sends from any thread (one
/// lock, one <c>send</c> per frame: a call costs one system call each way); receives on one thread at a time with
/// blocking reads, which measured faster than async receives for ping-pong (no thread-pool hop per frame). Which
/// thread reads is a role handed between threads (ChildPipeReader in the child, ChildLink's standby in the host);
/// the receive buffer passes with the role, through the interlocked change that hands it over.
/// </summary>
internal sealed class FramedSocket : IDisposable
{
    public const int HeaderSize = 13;

    /// <summary>Frames larger than this are refused: a corrupted length must not allocate gigabytes.</summary>
    public const int MaxBody = int.MaxValue - 64;

    private readonly Socket _socket;
    private readonly Lock _sendLock = new();
    private byte[] _receiveBuffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    public FramedSocket(Socket socket)
    {
        _socket = socket; // a Unix domain socket: no Nagle to turn off
    }

    /// <summary>
    /// Whether bytes already received wait in the buffer (a frame, or its start): then the next frame is read without
    /// waiting for the socket to become readable, which it may never become again for bytes already taken from it.
    /// Only the thread that holds the reading role asks.
    /// </summary>
    public bool HasBuffered => _end > _start;

    /// <summary>The socket's file descriptor, for a poll on it together with other descriptors (Unix only).</summary>
    public int Descriptor => (int)_socket.SafeHandle.DangerousGetHandle();

    /// <summary>Sends one frame; false when the pipe is closed (the other side is gone).</summary>
    public bool TrySend(FrameType type, long id, ReadOnlySpan<byte> body)
    {
        int length = HeaderSize + body.Length;
        byte[] frame = System.Buffers.ArrayPool<byte>.Shared.Rent(length);
        try
        {
            WriteHeader(frame, type, id, body.Length);
            body.CopyTo(frame.AsSpan(HeaderSize));
            return TrySendRaw(frame.AsSpan(0, length));
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(frame);
        }
    }

    /// <summary>Sends a frame whose header the caller left room for (the first <see cref="HeaderSize"/> bytes).</summary>
    public bool TrySendFramed(FrameType type, long id, byte[] frame, int length)
    {
        WriteHeader(frame, type, id, length - HeaderSize);
        return TrySendRaw(frame.AsSpan(0, length));
    }

    private static void WriteHeader(Span<byte> frame, FrameType type, long id, int bodyLength)
    {
        BinaryPrimitives.WriteInt32LittleEndian(frame, bodyLength);
        frame[4] = (byte)type;
        BinaryPrimitives.WriteInt64LittleEndian(frame[5..], id);
    }

    private bool TrySendRaw(ReadOnlySpan<byte> bytes)
    {
        try
        {
            lock (_sendLock)
            {
                while (!bytes.IsEmpty)
                {
                    int sent = _socket.Send(bytes, SocketFlags.None);
                    bytes = bytes[sent..];
                }
            }

            return true;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>Blocks until a whole frame arrived; false at the end of the stream (the other side closed or died).</summary>
    public bool TryReceive(out FrameType type, out long id, out byte[] body)
    {
        type = default;
        id = 0;
        body = [];
        if (!Fill(HeaderSize))
        {
            return false;
        }

        int length = BinaryPrimitives.ReadInt32LittleEndian(_receiveBuffer.AsSpan(_start));
        if (length < 0 || length > MaxBody)
        {
            throw new InvalidDataException($"A frame on the child-process pipe announced {length} bytes: the stream is corrupted.");
        }

        type = (FrameType)_receiveBuffer[_start + 4];
        id = BinaryPrimitives.ReadInt64LittleEndian(_receiveBuffer.AsSpan(_start + 5));
        _start += HeaderSize;
        if (!Fill(length))
        {
            return false;
        }

        body = length == 0 ? [] : _receiveBuffer.AsSpan(_start, length).ToArray();
        _start += length;
        return true;
    }

    /// <summary>Makes at least <paramref name="count"/> unread bytes available.</summary>
    private bool Fill(int count)
    {
        if (_end - _start >= count)
        {
            return true;
        }

        if (_receiveBuffer.Length < count)
        {
            var bigger = new byte[Math.Max(count, _receiveBuffer.Length * 2)];
            _receiveBuffer.AsSpan(_start, _end - _start).CopyTo(bigger);
            _end -= _start;
            _start = 0;
            _receiveBuffer = bigger;
        }
        else if (_receiveBuffer.Length - _start < count)
        {
            _receiveBuffer.AsSpan(_start, _end - _start).CopyTo(_receiveBuffer);
            _end -= _start;
            _start = 0;
        }

        while (_end - _start < count)
        {
            int read;
            try
            {
                read = _socket.Receive(_receiveBuffer.AsSpan(_end), SocketFlags.None);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                return false;
            }

            if (read == 0)
            {
                return false;
            }

            _end += read;
        }

        return true;
    }

    public void Dispose()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // already gone
        }

        _socket.Dispose();
    }
}
