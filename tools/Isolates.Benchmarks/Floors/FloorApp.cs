using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using Isolates.Benchmarks.Targets;

namespace Isolates.Benchmarks.Floors;

/// <summary>
/// The floor under a child-process isolate: the bare app of tools/Isolates.Benchmarks.Floor, started as a child
/// isolate is (<c>dotnet exec --runtimeconfig --depsfile app.dll</c>, standard streams redirected), connected over a
/// Unix domain socket this process listens on, echoing frames in the child isolate's framing
/// (<c>[int32 length][byte type][int64 id][body]</c>). Requests are as large as the frame of a
/// <c>CallAsync(Workload.Identity, int)</c> (its header names the method by assembly identity and token), answers as
/// small as its result frame.
/// </summary>
public sealed class FloorApp : IDisposable
{
    private const int HeaderSize = 13;
    private const string MetadataKey = "Isolates.Benchmarks.FloorApp";

    // The call frame's body: a MessagePack array of shape, assembly name, token, trace parent and generic arguments, then the encoded int.
    private static readonly int RequestBody = 16 + Encoding.UTF8.GetByteCount(typeof(Workload).Assembly.FullName!);

    private readonly Process _process;
    private readonly Socket _socket;
    private readonly Lock _sendLock = new();
    private readonly byte[] _request = new byte[HeaderSize + RequestBody];
    private readonly byte[] _reply = new byte[HeaderSize + 4];
    private readonly ConcurrentDictionary<long, TaskCompletionSource<int>> _pending = new();
    private Thread? _reader;
    private long _nextId;

    private FloorApp(Process process, Socket socket)
    {
        _process = process;
        _socket = socket;
        BinaryPrimitives.WriteInt32LittleEndian(_request, RequestBody);
        _request[4] = 2; // a call
    }

    /// <summary>The child's process id.</summary>
    public int ProcessId => _process.Id;

    /// <summary>The size of a request frame, header included.</summary>
    public static int RequestFrameSize => HeaderSize + RequestBody;

    /// <summary>The floor app's .dll, stamped into this assembly at build time; null (with why) when it is not there.</summary>
    public static string? Locate(out string why)
    {
        string? path = typeof(FloorApp).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(attribute => attribute.Key == MetadataKey)?.Value;
        why = path is null ? "this build has no path of the floor app stamped in it"
            : File.Exists(path) ? string.Empty
            : $"the floor app is not at {path}; build tools/Isolates.Benchmarks.Floor";
        return why.Length == 0 ? path : null;
    }

    /// <summary>Starts the app with <paramref name="hop"/> (its reader hands each frame to a second thread that answers) or without, and waits until it has connected.</summary>
    public static FloorApp Start(string dll, bool hop = false)
    {
        string endpoint = Path.Combine(Path.GetTempPath(), $"iso-floor-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..12]}.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(endpoint));
        listener.Listen(1);
        var info = new ProcessStartInfo(Muxer())
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        string stem = dll[..^".dll".Length];
        foreach (string argument in (string[])["exec", "--runtimeconfig", stem + ".runtimeconfig.json", "--depsfile", stem + ".deps.json", dll, endpoint])
        {
            info.ArgumentList.Add(argument);
        }

        if (hop)
        {
            info.ArgumentList.Add("hop");
        }

        var process = new Process { StartInfo = info };
        process.OutputDataReceived += static (_, _) => { };
        process.ErrorDataReceived += static (_, e) =>
        {
            if (e.Data is { Length: > 0 } line)
            {
                Console.Error.WriteLine("floor app: " + line);
            }
        };
        try
        {
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            Task<Socket> accept = listener.AcceptAsync();
            if (!accept.Wait(TimeSpan.FromSeconds(60)))
            {
                throw new TimeoutException("The floor app did not connect within 60 s.");
            }

            return new FloorApp(process, accept.Result);
        }
        catch
        {
            process.Kill();
            process.Dispose();
            throw;
        }
        finally
        {
            File.Delete(endpoint);
        }
    }

    /// <summary>A ping-pong with no other thread: sends a request on this thread and blocks on the answer.</summary>
    public int Ask(int value)
    {
        Debug.Assert(_reader is null, "a reader thread takes the answers");
        Send(++_nextId, value);
        int have = 0;
        while (have < _reply.Length)
        {
            int read = _socket.Receive(_reply.AsSpan(have), SocketFlags.None);
            if (read == 0)
            {
                throw new InvalidOperationException("The floor app closed the socket.");
            }

            have += read;
        }

        return BinaryPrimitives.ReadInt32LittleEndian(_reply.AsSpan(HeaderSize));
    }

    /// <summary>
    /// The host's side shaped like a child isolate's: answers arrive on a dedicated reader thread with blocking reads,
    /// which completes the waiting call's task (continuations run asynchronously, so on the thread pool).
    /// </summary>
    public void StartReader()
    {
        _reader = new Thread(ReadLoop) { IsBackground = true, Name = "floor pipe reader" };
        _reader.Start();
    }

    /// <summary>Sends a request from the caller's thread; the task completes on the thread pool with the echoed value.</summary>
    public Task<int> AskAsync(int value)
    {
        var reply = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        long id = Interlocked.Increment(ref _nextId);
        _pending[id] = reply;
        Send(id, value);
        return reply.Task;
    }

    /// <summary>VmRSS and Pss of the app's process, in bytes.</summary>
    public ChildMemory Memory() => ChildMemory.Of(_process.Id);

    public void Dispose()
    {
        _socket.Shutdown(SocketShutdown.Both); // the app reads the end of the stream and exits
        _socket.Dispose();
        _reader?.Join();
        if (!_process.WaitForExit(10_000))
        {
            _process.Kill();
        }

        _process.WaitForExit();
        _process.Dispose();
    }

    private void Send(long id, int value)
    {
        lock (_sendLock)
        {
            BinaryPrimitives.WriteInt64LittleEndian(_request.AsSpan(5), id);
            BinaryPrimitives.WriteInt32LittleEndian(_request.AsSpan(_request.Length - 4), value);
            ReadOnlySpan<byte> bytes = _request;
            while (!bytes.IsEmpty)
            {
                bytes = bytes[_socket.Send(bytes, SocketFlags.None)..];
            }
        }
    }

    private void ReadLoop()
    {
        byte[] buffer = new byte[64 * 1024];
        int start = 0, end = 0;
        try
        {
            while (true)
            {
                if (end - start < _reply.Length)
                {
                    buffer.AsSpan(start, end - start).CopyTo(buffer);
                    end -= start;
                    start = 0;
                    int read = _socket.Receive(buffer.AsSpan(end), SocketFlags.None);
                    if (read == 0)
                    {
                        return;
                    }

                    end += read;
                    continue;
                }

                long id = BinaryPrimitives.ReadInt64LittleEndian(buffer.AsSpan(start + 5));
                int value = BinaryPrimitives.ReadInt32LittleEndian(buffer.AsSpan(start + HeaderSize));
                start += _reply.Length;
                if (_pending.TryRemove(id, out TaskCompletionSource<int>? reply))
                {
                    reply.SetResult(value);
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // disposed
        }
        finally
        {
            foreach (TaskCompletionSource<int> reply in _pending.Values)
            {
                reply.TrySetException(new InvalidOperationException("The floor app's socket closed."));
            }
        }
    }

    // The same dotnet that runs this process, as the child-process launcher picks it.
    private static string Muxer()
    {
        string executable = RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? "dotnet.exe" : "dotnet";
        if (Environment.ProcessPath is { } path && Path.GetFileName(path) == executable)
        {
            return path;
        }

        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath && File.Exists(hostPath))
        {
            return hostPath;
        }

        return Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", "..", executable));
    }
}

/// <summary>
/// The CPU time (user + system) a process has used so far, from /proc/&lt;pid&gt;/stat, in milliseconds: unlike wall time,
/// other processes on a loaded machine cannot inflate it. Resolution: one clock tick (10 ms on Linux).
/// </summary>
public static class ProcessCpu
{
    private const double MillisecondsPerTick = 10; // sysconf(_SC_CLK_TCK) is 100 on Linux

    public static double Milliseconds(int processId)
    {
        string stat = File.ReadAllText($"/proc/{processId}/stat");
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' '); // the name may hold spaces; fields after it start at 3
        return (long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture)) * MillisecondsPerTick;
    }
}

/// <summary>
/// A child process's memory from /proc: VmRSS (every page it maps that is resident, shared ones included) and Pss
/// (shared pages divided among the processes that map them, which is what N children really add).
/// </summary>
public readonly record struct ChildMemory(long ResidentBytes, long ProportionalBytes)
{
    public static ChildMemory Of(int processId) =>
        new(ReadKiB($"/proc/{processId}/status", "VmRSS:") * 1024, ReadKiB($"/proc/{processId}/smaps_rollup", "Pss:") * 1024);

    private static long ReadKiB(string file, string field)
    {
        foreach (string line in File.ReadLines(file))
        {
            if (line.StartsWith(field, StringComparison.Ordinal))
            {
                return long.Parse(line[field.Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"{file} has no {field} line.");
    }
}
