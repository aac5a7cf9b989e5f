using System.Collections.Concurrent;
using System.Net.Sockets;

namespace Isolates.Processes;

/// <summary>
/// The child's side of a child-process isolate: connects to the host, builds an ordinary in-process isolate from the
/// host's options, runs call frames in it, and ends the process when the isolate closes, faults, hits its memory limit,
/// or the host goes away (the pipe reaching its end is how a child learns that its host died, even by SIGKILL: the
/// kernel closes the host's end, so a child never outlives its host by more than a read).
/// </summary>
internal sealed class ChildServer
{
    private readonly FramedSocket _pipe;
    private Isolate _isolate = null!; // set once built, before any frame but the hello is read
    private readonly ChildOptions _options;
    private readonly ConcurrentDictionary<long, WireCall> _calls = new();
    private readonly ConcurrentDictionary<long, IChildBridge> _bridges = new(); // channel ends the host passed in calls
    private readonly ConcurrentDictionary<(string Assembly, int Token, Calls.ResultShape Shape, string Generic), WireTarget> _targets = new();
    private int _closing;
    private TaskCompletionSource? _warmUp;

    /// <summary>The id of the child's own warm-up call; the host numbers its calls from 1.</summary>
    private const long WarmUpId = -1;

    private ChildServer(FramedSocket pipe, ChildOptions options)
    {
        _pipe = pipe;
        _options = options;
        Objects = new ChildObjects(this);
    }

    public Isolate Isolate => _isolate;

    public ChildOptions Options => _options;

    public FramedSocket Pipe => _pipe;

    /// <summary>The host's objects passed into this child, and the calls of them.</summary>
    public ChildObjects Objects { get; }

    /// <summary>The server of this child process (null in the host): functions the host calls here reach it through this.</summary>
    public static ChildServer? Current { get; private set; }

    /// <summary>Runs the child until it ends; never returns.</summary>
    public static void Run(string endpoint)
    {
        // Processes this child starts are ordinary processes, not isolates of its own.
        Environment.SetEnvironmentVariable(ChildLauncher.EndpointVariable, null);
        string? hooks = Environment.GetEnvironmentVariable(ChildLauncher.OriginalHooksVariable);
        Environment.SetEnvironmentVariable(ChildLauncher.StartupHooksVariable, string.IsNullOrEmpty(hooks) ? null : hooks);
        Environment.SetEnvironmentVariable(ChildLauncher.OriginalHooksVariable, null);
        FramedSocket pipe;
        try
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            socket.Connect(new UnixDomainSocketEndPoint(endpoint));
            pipe = new FramedSocket(socket);
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine($"isolates child: could not reach the host at {endpoint}: {ex.Message}");
            Exit(ChildExitCodes.NoHost);
            return;
        }

        AppDomain.CurrentDomain.UnhandledException += (_, e) =>
        {
            // Any thread's unhandled exception ends the process (the runtime's rule); the host learns which one first.
            Exception error = e.ExceptionObject as Exception ?? new InvalidOperationException($"A non-exception object was thrown: {e.ExceptionObject}");
            pipe.TrySend(FrameType.Fault, 0, RemoteError.Encode(error, 0, "child"));
        };

        if (!pipe.TryReceive(out FrameType type, out _, out byte[] body) || type != FrameType.Hello)
        {
            Exit(ChildExitCodes.NoHost);
            return;
        }

        ChildOptions options = ChildOptions.Decode(body);
        if (options.MemoryLimit > 0)
        {
            // The runtime read its limit at start; the processes this child starts must not inherit it.
            Environment.SetEnvironmentVariable(ChildLauncher.HeapLimitVariable, null);
        }

        // Functions are found in the child's default context first (then mapped into its isolate): assemblies the host
        // holds in memory (compiled scripts) or found in extra folders resolve there as they do for the host's isolates.
        System.Runtime.Loader.AssemblyLoadContext.Default.Resolving += static (context, name) =>
            name.Name is { } simple && Loader.AssemblyLocator.FindInMemory(simple) is { } image
                ? context.LoadFromStream(new MemoryStream(image.Image), image.Symbols is null ? null : new MemoryStream(image.Symbols))
                : name.Name is { } file && Loader.AssemblyLocator.FindPath(file) is { } path ? context.LoadFromAssemblyPath(path) : null;
        // The server first: the isolate's host services are the host's objects, imported through it.
        var server = new ChildServer(pipe, options);
        Current = server;
        Isolate isolate;
        try
        {
            isolate = Isolate.CreateAsync(options.ToIsolateOptions(server.Objects)).GetAwaiter().GetResult();
        }
        catch (Exception ex)
        {
            pipe.TrySend(FrameType.Fault, 0, RemoteError.Encode(ex, 0, options.Name));
            Exit(ChildExitCodes.StartFailed);
            return;
        }

        server._isolate = isolate;

        // The isolate's thread reads the pipe itself while idle (from before the warm-up, so that compiles its path too).
        ChildPipeReader? reader = ChildPipeReader.TryCreate(server);
        if (reader is not null)
        {
            isolate.InProcess.WaitWhenIdle(reader);
        }

        server.WarmUpCallPath();
        _ = isolate.Completion.ContinueWith(static (completion, state) => ((ChildServer)state!).OnIsolateEnded(completion), server, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        pipe.TrySend(FrameType.Ready, Environment.ProcessId, []);
        if (reader is null)
        {
            server.ReadLoop();
            return;
        }

        try
        {
            reader.RunBackground();
        }
        catch (OutOfMemoryException ex) when (options.MemoryLimit > 0)
        {
            server.OnMemoryLimit(ex); // the reader ran out of heap (it reads while a long call runs): the limit, as in a call
        }

        server.PipeEnded();
    }

    // Where the isolate's thread cannot read the pipe itself (not Linux): this thread reads every frame.
    private void ReadLoop()
    {
        while (_pipe.TryReceive(out FrameType type, out long id, out byte[] body))
        {
            Handle(type, id, body);
        }

        PipeEnded();
    }

    /// <summary>A call frame read on the isolate's own thread: known (for a Cancel) and run there at once.</summary>
    public WireCall Accept(long id, byte[] body)
    {
        var call = new WireCall(this, id, body);
        _calls[id] = call;
        return call;
    }

    /// <summary>One frame from the host, on whichever thread holds the pipe (see <see cref="ChildPipeReader"/>).</summary>
    public void Handle(FrameType type, long id, byte[] body)
    {
        switch (type)
        {
            case FrameType.Call:
                _isolate.InProcess.Enqueue(Accept(id, body)); // abandoned (and answered as closed) if the isolate is stopping
                break;
            case FrameType.Cancel:
                if (_calls.TryGetValue(id, out WireCall? cancelled))
                {
                    cancelled.Cancel();
                }

                break;
            case FrameType.Assembly:
                (string name, byte[] image, byte[]? symbols) = AssemblyFrame.Decode(body);
                Loader.AssemblyLocator.Register(name, image, symbols);
                break;
            case FrameType.Adopt:
                _isolate.AdoptInChild(ChildOptions.Decode(body).ToIsolateOptions(Objects));
                break;
            case FrameType.Probe:
                Loader.AssemblyLocator.AddProbingDirectory(System.Text.Encoding.UTF8.GetString(body));
                break;
            case FrameType.ChannelItems when _bridges.TryGetValue(id, out IChildBridge? bridge):
                bridge.OnItems(body);
                break;
            case FrameType.ChannelDone when _bridges.TryGetValue(id, out IChildBridge? bridge):
                bridge.OnDone(body);
                break;
            case FrameType.ChannelCredit when _bridges.TryGetValue(id, out IChildBridge? bridge) && body.Length == 4:
                bridge.OnCredit(System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(body));
                break;
            case FrameType.ObjectResult:
            case FrameType.ObjectError:
                Objects.OnAnswer(type, id, body);
                break;
            case FrameType.ObjectDrop:
                Objects.OnDrop(id, body);
                break;
            case FrameType.Close:
                if (Interlocked.Exchange(ref _closing, 1) == 0)
                {
                    // On the thread pool: the frame may have been read on the isolate's own thread, which the close waits for.
                    ThreadPool.UnsafeQueueUserWorkItem(static server => _ = server.CloseAsync(), this, preferLocal: false);
                }

                break;
        }
    }

    /// <summary>
    /// The pipe ended: the host closed it after the isolate closed, or the host is gone. Either way, end now; with no
    /// host, nobody is left to report to, and exit handlers of user code must not keep an orphan alive.
    /// </summary>
    private void PipeEnded()
    {
        if (Volatile.Read(ref _closing) != 0)
        {
            Exit(0);
        }

        System.Diagnostics.Process.GetCurrentProcess().Kill();
    }

    private async Task CloseAsync()
    {
        await _isolate.CloseAsync().ConfigureAwait(false); // its CloseTimeout applies; a stuck thread ends with the process
        FlushBridges(); // the host counts what the code took exactly
        _pipe.TrySend(FrameType.Closed, 0, []);
        Exit(0);
    }

    /// <summary>
    /// Runs one call of a trivial runtime function through the whole path a host's call takes in this child (header
    /// decoded, target resolved, argument decoded on the isolate's thread, invoked, result encoded), before the child
    /// says it is ready: the code of that path is compiled then, not on the host's first call, so a pre-warmed spare
    /// answers its first call as fast as later ones (the user's own function still compiles on its first call).
    /// </summary>
    private void WarmUpCallPath()
    {
        try
        {
            System.Reflection.MethodInfo method = typeof(ChildWarmUp).GetMethod(nameof(ChildWarmUp.Echo))!;
            byte[] payload = Wire.Payload.Encode(Wire.CodecFactory.Get(typeof(int)), 42);
            byte[] body = CallHeader.For(method, Calls.ResultShape.Value, traceParent: null).Encode(payload);
            _warmUp = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _isolate.InProcess.Enqueue(new WireCall(this, WarmUpId, body));
            _warmUp.Task.Wait(TimeSpan.FromSeconds(10)); // only a speed-up: a slow or failed warm-up is not an error
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // the first real call compiles the path instead
        }
    }

    /// <summary>Answers a call once; the host ignores answers to calls it no longer waits for (cancelled ones).</summary>
    public void Answer(long id, FrameType type, ReadOnlySpan<byte> body)
    {
        if (id == WarmUpId)
        {
            _warmUp?.TrySetResult(); // the warm-up's answer stays in the child
            return;
        }

        _calls.TryRemove(id, out _);
        _pipe.TrySend(type, id, body);
    }

    public void AddBridge(long id, IChildBridge bridge) => _bridges[id] = bridge;

    /// <summary>A bridge no frame can come for any more (its channel completed from the other side, or its writer completed here).</summary>
    public void ForgetBridge(long id, IChildBridge bridge) => _bridges.TryRemove(new KeyValuePair<long, IChildBridge>(id, bridge));

    private void FlushBridges()
    {
        foreach (IChildBridge bridge in _bridges.Values)
        {
            bridge.Flush();
        }
    }

    public WireTarget TargetFor(CallHeader header) =>
        _targets.GetOrAdd(
            (header.Assembly, header.Token, header.Shape, header.GenericArguments.Length == 0 ? string.Empty : string.Join(";", header.GenericArguments)),
            static (_, state) => WireTarget.Create(state.Header, state.Isolate),
            (Header: header, Isolate: _isolate));

    /// <summary>The GC heap limit was reached: say so and end (the heap's state is unknown after an out-of-memory).</summary>
    public void OnMemoryLimit(Exception exception)
    {
        _pipe.TrySend(FrameType.MemoryLimit, 0, RemoteError.Encode(exception, _isolate.Id, _isolate.Name));
        Exit(ChildExitCodes.MemoryLimit);
    }

    private void OnIsolateEnded(Task completion)
    {
        if (completion.Exception?.InnerException is { } fault)
        {
            // Code escaped the isolate outside any call (an async void method): the isolate faulted, as it would in-process.
            FlushBridges();
            _pipe.TrySend(FrameType.Fault, 0, RemoteError.Encode(fault, _isolate.Id, _isolate.Name));
            Exit(ChildExitCodes.Faulted);
        }
    }

    /// <summary>Ends the process; if exit handlers of user code hang, the process is killed shortly after.</summary>
    private static void Exit(int code)
    {
        var guard = new Thread(static () =>
        {
            Thread.Sleep(2000);
            System.Diagnostics.Process.GetCurrentProcess().Kill();
        })
        { IsBackground = true, Name = "isolates child exit guard" };
        guard.Start();
        Environment.Exit(code);
    }
}

/// <summary>The function the child calls on itself to compile its call path before it says it is ready.</summary>
internal static class ChildWarmUp
{
    public static int Echo(int value) => value;
}

/// <summary>Exit codes by which a child-process isolate tells its host why it ended.</summary>
internal static class ChildExitCodes
{
    public const int NoHost = 70;
    public const int StartFailed = 71;
    public const int Faulted = 72;
    public const int MemoryLimit = 73;
}
