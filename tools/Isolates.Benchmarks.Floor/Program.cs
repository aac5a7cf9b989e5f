using System.Buffers.Binary;
using System.Net.Sockets;

// The floor app: connects to the Unix domain socket named by its first argument and answers every frame
// ([int32 body length][byte type][int64 id][body], the child-process isolate's framing) with a frame of the same type
// and id whose body is the request body's last 4 bytes (the "value"), until the other side closes. Reads block on the
// thread that answers (the fewest threads a process can answer with). With "hop" as its second argument, a reader thread
// hands each frame to a second thread that answers, like a child isolate's pipe reader hands a call to the isolate's thread.
if (args.Length is < 1 or > 2 || (args.Length == 2 && args[1] != "hop"))
{
    Console.Error.WriteLine("usage: Isolates.Benchmarks.Floor SOCKET_PATH [hop]");
    return 2;
}

using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
socket.Connect(new UnixDomainSocketEndPoint(args[0]));
var pipe = new FloorPipe(socket);
if (args.Length == 1)
{
    while (pipe.TryReceive(out byte type, out long id, out int value))
    {
        pipe.Send(type, id, value);
    }

    return 0;
}

// hop: the reader thread (this one) passes (type, id, value) to the answering thread through a semaphore, as a child
// isolate's reader passes a call to the isolate's thread (whose queue also wakes a sleeping thread with a semaphore).
var ready = new SemaphoreSlim(0);
(byte Type, long Id, int Value) item = default;
bool done = false;
var answering = new Thread(() =>
{
    while (true)
    {
        ready.Wait();
        if (Volatile.Read(ref done))
        {
            return;
        }

        pipe.Send(item.Type, item.Id, item.Value);
    }
})
{ Name = "floor answering thread" };
answering.Start();
while (pipe.TryReceive(out byte type, out long id, out int value))
{
    item = (type, id, value); // one frame at a time: the host waits for each answer before it sends the next
    ready.Release();
}

Volatile.Write(ref done, true);
ready.Release();
answering.Join();
return 0;

/// <summary>Blocking framed reads into one buffer, one <c>send</c> per answer.</summary>
internal sealed class FloorPipe(Socket socket)
{
    private const int HeaderSize = 13;
    private readonly byte[] _receive = new byte[64 * 1024];
    private readonly byte[] _send = new byte[HeaderSize + 4];

    // One frame at a time (the host waits for each answer before it sends the next), read greedily: usually one recv.
    public bool TryReceive(out byte type, out long id, out int value)
    {
        type = 0;
        id = 0;
        value = 0;
        int have = 0;
        if (!Fill(ref have, HeaderSize))
        {
            return false;
        }

        int length = BinaryPrimitives.ReadInt32LittleEndian(_receive);
        if (length is < 4 or > 60 * 1024 || !Fill(ref have, HeaderSize + length))
        {
            return false;
        }

        type = _receive[4];
        id = BinaryPrimitives.ReadInt64LittleEndian(_receive.AsSpan(5));
        value = BinaryPrimitives.ReadInt32LittleEndian(_receive.AsSpan(HeaderSize + length - 4));
        return true;
    }

    public void Send(byte type, long id, int value)
    {
        BinaryPrimitives.WriteInt32LittleEndian(_send, 4);
        _send[4] = type;
        BinaryPrimitives.WriteInt64LittleEndian(_send.AsSpan(5), id);
        BinaryPrimitives.WriteInt32LittleEndian(_send.AsSpan(HeaderSize), value);
        ReadOnlySpan<byte> bytes = _send;
        while (!bytes.IsEmpty)
        {
            bytes = bytes[socket.Send(bytes, SocketFlags.None)..];
        }
    }

    private bool Fill(ref int have, int count)
    {
        while (have < count)
        {
            int n = socket.Receive(_receive.AsSpan(have), SocketFlags.None);
            if (n == 0)
            {
                return false;
            }

            have += n;
        }

        return true;
    }
}
