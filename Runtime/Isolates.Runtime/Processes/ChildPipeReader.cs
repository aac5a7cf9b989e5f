using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using Isolates.Dispatcher;

namespace Isolates.Processes;

/// <summary>
/// Who reads the child's end of the pipe (Linux). While the child's isolate is idle, its own thread waits in a
/// <c>poll</c> on the pipe and on an eventfd that producers of its queue raise, so a call from the host is read and run
/// on one thread: no hand-off from a reader thread to the isolate's thread (which cost some 12-15 µs of a ~38 µs round
/// trip). While the isolate's thread stays away from the pipe (see <see cref="Period"/>), the background reader
/// (the child's main thread) takes the pipe over, so a Cancel, a Close or a channel's frames still arrive during a long
/// call; it hands calls to the isolate as before, and gives the pipe back as soon as the isolate's thread wants it
/// (asked through a second eventfd).
/// </summary>
/// <remarks>
/// The role is one state word: <see cref="Running"/> (the isolate's thread is away running items and holds the pipe
/// without reading it), <see cref="IsolateReads"/>, <see cref="BackgroundReads"/>, <see cref="Ended"/>. Only the
/// holder reads (frames and the buffer of <see cref="FramedSocket"/> pass between threads through the interlocked
/// state changes), so frames are handled in the order they were sent. The background reader wakes once a period to
/// see whether the isolate's thread has stayed away since its last look, and parks for good once the isolate has
/// waited idle for two periods (an idle child costs no wake-ups); the isolate's thread unparks it when it leaves its wait.
/// </remarks>
internal sealed class ChildPipeReader : IdleWait
{
    private const int Running = 0;
    private const int IsolateReads = 1;
    private const int BackgroundReads = 2;
    private const int Ended = 3;

    /// <summary>
    /// How often the background reader looks while the isolate's thread was waiting at its last look, and how soon it
    /// looks again after it saw the thread away: a thread seen away at two looks (same turn) lost the pipe, so a long
    /// call is noticed after 1 to 11 ms. Looking every millisecond all the time cost more than it saves: on a busy
    /// machine the wake-ups moved the ping-pong's threads around, and a round trip took twice as long in some runs.
    /// </summary>
    internal static readonly TimeSpan Period = TimeSpan.FromMilliseconds(10);

    internal static readonly TimeSpan ConfirmPeriod = TimeSpan.FromMilliseconds(1);

    private readonly ChildServer _server;
    private readonly FramedSocket _pipe;
    private readonly int _socket;
    private readonly int _wake; // eventfd: wakes the isolate's thread from its poll
    private readonly int _control; // eventfd: asks the background reader to give the pipe back
    private readonly SemaphoreSlim _parked = new(0, int.MaxValue);
    private readonly NativeMethods.PollFd[] _isolateFds = new NativeMethods.PollFd[2];
    private readonly NativeMethods.PollFd[] _backgroundFds = new NativeMethods.PollFd[2];
    private int _state = Running;
    private int _turns; // waits the isolate's thread began: the background reader takes over only if none began for a period
    private int _backgroundParked;
    private int _returnWanted;
    private Exception? _error;

    private ChildPipeReader(ChildServer server, int wake, int control)
    {
        _server = server;
        _pipe = server.Pipe;
        _socket = _pipe.Descriptor;
        _wake = wake;
        _control = control;
    }

    /// <summary>A reader for <paramref name="server"/>'s pipe, or null where the isolate's thread cannot poll it (not Linux).</summary>
    public static ChildPipeReader? TryCreate(ChildServer server)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            int wake = NativeMethods.EventFd(0, NativeMethods.EfdNonBlock | NativeMethods.EfdCloExec);
            if (wake < 0)
            {
                return null;
            }

            int control = NativeMethods.EventFd(0, NativeMethods.EfdNonBlock | NativeMethods.EfdCloExec);
            if (control < 0)
            {
                NativeMethods.Close(wake);
                return null;
            }

            return new ChildPipeReader(server, wake, control);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return null; // the reader thread hands calls over, as on other systems
        }
    }

    /// <summary>On the isolate's thread, its queue empty: read the pipe if this thread may, else wait to be woken.</summary>
    public override WorkItem? Wait()
    {
        Interlocked.Increment(ref _turns);
        int was = Interlocked.CompareExchange(ref _state, IsolateReads, Running);
        if (was == Running)
        {
            WorkItem? item = null;
            try
            {
                item = ReadAsIsolate();
            }
            finally
            {
                // A frame other than a call keeps the pipe until it has been handled (PipeFrame): were the background reader
                // to take the pipe now, it could handle a later frame first (a channel's Done before its last items).
                if (item is not PipeFrame)
                {
                    Leave();
                }
            }

            return item;
        }

        if (was == BackgroundReads)
        {
            Volatile.Write(ref _returnWanted, 1);
            Signal(_control); // a system call: the write above is visible before the reader wakes
        }

        Poll(_isolateFds, _wake, -1, _wake, out _, out _); // given back, woken by the queue, or the pipe ended
        return null;
    }

    public override void Wake() => Signal(_wake);

    // The isolate's thread is done with the pipe for now: whatever it runs next may take long, so the background reader
    // may take the pipe over (and watches again if it was parked).
    private void Leave()
    {
        Interlocked.CompareExchange(ref _state, Running, IsolateReads); // (Ended stays)
        Diagnostics.Interleave.Point("child.pipe.isolateLeft");
        if (Volatile.Read(ref _backgroundParked) != 0 && Interlocked.Exchange(ref _backgroundParked, 0) != 0)
        {
            _parked.Release();
        }
    }

    private WorkItem? ReadAsIsolate()
    {
        if (!_pipe.HasBuffered)
        {
            Poll(_isolateFds, _socket, -1, _wake, out bool readable, out _);
            if (!readable)
            {
                return null; // woken: something was queued
            }
        }

        Diagnostics.Interleave.Point("child.pipe.isolateReads");
        FrameType type;
        long id;
        byte[] body;
        try
        {
            if (!_pipe.TryReceive(out type, out id, out body))
            {
                End(null);
                return null;
            }
        }
        catch (Exception ex)
        {
            End(ex);
            return null;
        }

        return type == FrameType.Call ? _server.Accept(id, body) : new PipeFrame(this, type, id, body);
    }

    /// <summary>
    /// On the child's main thread until the pipe ends: takes the pipe over while the isolate's thread stays away from it.
    /// Throws what broke the pipe, if anything did (as the reader thread did before the isolate's thread read too).
    /// </summary>
    public void RunBackground()
    {
        int seenTurns = -1;
        int idlePeriods = 0;
        while (true)
        {
            int state = Volatile.Read(ref _state);
            if (state == Ended)
            {
                break;
            }

            int turns = Volatile.Read(ref _turns);
            if (state == Running && turns == seenTurns && Interlocked.CompareExchange(ref _state, BackgroundReads, Running) == Running)
            {
                Diagnostics.Interleave.Point("child.pipe.backgroundTook");
                ReadForIsolate();
                seenTurns = -1;
                idlePeriods = 0;
                continue;
            }

            idlePeriods = state == IsolateReads && turns == seenTurns ? idlePeriods + 1 : 0;
            seenTurns = turns;
            if (idlePeriods < 2)
            {
                Thread.Sleep(state == Running ? ConfirmPeriod : Period);
                continue;
            }

            // Idle for two periods: park until the isolate's thread leaves its wait (or the pipe ends).
            Interlocked.Exchange(ref _backgroundParked, 1);
            Diagnostics.Interleave.Point("child.pipe.parking");
            if (Volatile.Read(ref _state) == IsolateReads && Volatile.Read(ref _turns) == turns)
            {
                _parked.Wait(); // only a release that cleared the flag ends this
            }
            else if (Interlocked.Exchange(ref _backgroundParked, 0) == 0)
            {
                _parked.Wait(); // someone cleared the flag and releases: take that release
            }

            seenTurns = -1;
            idlePeriods = 0;
        }

        if (Volatile.Read(ref _error) is { } error)
        {
            ExceptionDispatchInfo.Throw(error);
        }
    }

    // The background reader holds the pipe: calls go to the isolate's queue, other frames are handled here.
    private void ReadForIsolate()
    {
        while (true)
        {
            if (Volatile.Read(ref _returnWanted) != 0)
            {
                Volatile.Write(ref _returnWanted, 0);
                Diagnostics.Interleave.Point("child.pipe.givingBack");
                Interlocked.Exchange(ref _state, Running); // the isolate's thread takes it at its next wait
                Wake();
                return;
            }

            if (!_pipe.HasBuffered)
            {
                Poll(_backgroundFds, _socket, -1, _control, out bool readable, out _);
                if (!readable)
                {
                    continue; // asked for the pipe back (or interrupted)
                }
            }

            FrameType type;
            long id;
            byte[] body;
            try
            {
                if (!_pipe.TryReceive(out type, out id, out body))
                {
                    End(null);
                    return;
                }
            }
            catch (Exception ex)
            {
                End(ex);
                return;
            }

            _server.Handle(type, id, body);
        }
    }

    private void End(Exception? error)
    {
        Interlocked.CompareExchange(ref _error, error, null);
        Interlocked.Exchange(ref _state, Ended);
        if (Interlocked.Exchange(ref _backgroundParked, 0) != 0)
        {
            _parked.Release(); // the background reader ends the process
        }

        Wake(); // an isolate's thread waiting for the pipe back waits for its queue only
    }

    private static void Signal(int fd)
    {
        long one = 1;
        _ = NativeMethods.Write(fd, ref one, sizeof(long)); // fails only when the counter is about to overflow: it is raised already
    }

    /// <summary>
    /// Waits until <paramref name="fd"/> is readable (or hung up) or <paramref name="signal"/> was raised (then lowers it);
    /// an interrupted wait returns with neither. <paramref name="fd"/> may be <paramref name="signal"/> itself.
    /// </summary>
    private static void Poll(NativeMethods.PollFd[] fds, int fd, int timeout, int signal, out bool readable, out bool signalled)
    {
        fds[0] = new NativeMethods.PollFd { Fd = fd, Events = NativeMethods.PollIn };
        fds[1] = new NativeMethods.PollFd { Fd = signal, Events = NativeMethods.PollIn };
        int count = fd == signal ? 1 : 2;
        int result = NativeMethods.Poll(fds, (nuint)count, timeout);
        readable = false;
        signalled = false;
        if (result <= 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (result < 0 && errno != NativeMethods.EIntr)
            {
                throw new IOException($"poll on the child-process pipe failed (errno {errno}).");
            }

            return;
        }

        signalled = (fds[count - 1].Returned & NativeMethods.PollIn) != 0;
        readable = fd != signal && fds[0].Returned != 0; // data, or the end (POLLHUP, POLLERR): the receive says which
        if (signalled)
        {
            long value = 0;
            _ = NativeMethods.Read(signal, ref value, sizeof(long)); // non-blocking: lowers the counter to zero
        }
    }

    /// <summary>
    /// A frame other than a call, read on the isolate's thread: handled there as an item of its own turn (the thread's
    /// queue runs it next), before the thread lets go of the pipe, so frames are handled in the order they came.
    /// </summary>
    private sealed class PipeFrame(ChildPipeReader reader, FrameType type, long id, byte[] body) : WorkItem
    {
        public override string Description => $"a {type} frame from the host";

        public override void Execute() => Handle();

        // A stopping isolate still takes the host's frames (a Cancel, a channel's items or credit, the Close itself).
        public override void Abandon(Exception reason) => Handle();

        private void Handle()
        {
            try
            {
                Diagnostics.Interleave.Point("child.pipe.frameHandling");
                reader._server.Handle(type, id, body);
            }
            finally
            {
                reader.Leave();
            }
        }
    }

    private static class NativeMethods
    {
        public const short PollIn = 0x1;
        public const int EfdNonBlock = 0x800;
        public const int EfdCloExec = 0x80000;
        public const int EIntr = 4;

        [StructLayout(LayoutKind.Sequential)]
        public struct PollFd
        {
            public int Fd;
            public short Events;
            public short Returned;
        }

        [DllImport("libc", EntryPoint = "poll", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Poll([In, Out] PollFd[] fds, nuint count, int timeout);

        [DllImport("libc", EntryPoint = "eventfd", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int EventFd(uint initial, int flags);

        [DllImport("libc", EntryPoint = "read", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern nint Read(int fd, ref long value, nint count);

        [DllImport("libc", EntryPoint = "write", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern nint Write(int fd, ref long value, nint count);

        [DllImport("libc", EntryPoint = "close", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Close(int fd);
    }
}
