using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Isolates.Calls;
using Isolates.Channels;
using Isolates.Wire;

namespace Isolates.Processes;

/// <summary>
/// The host's side of a child-process isolate: the process, the pipe, the calls waiting for answers. One dedicated
/// thread reads the child's frames; when the pipe ends (the child exited, crashed or was killed) every waiting call
/// fails with <see cref="IsolateClosedException"/> saying why, and the isolate learns how its child ended.
/// </summary>
/// <remarks>
/// The reader completes an answered call's task on its own thread, so the caller's continuation (when it has no
/// context of its own to go to) runs there at once instead of waiting for a thread-pool thread to wake (measured: some
/// 8 µs of a ~28 µs round trip). Continuations are user code and may run long or block, so the reading is a role, not
/// a thread: while the holder runs a completion, a standby thread looks now and then (<see cref="StandbyPeriod"/>), and
/// if it finds the holder away at two looks in the same turn, it takes the pipe over (and a new standby is started if none is left);
/// the old holder, once back, becomes the standby or ends. The role is one word: the holder's turn, and whether it is
/// reading or away (<see cref="RoleReading"/>, <see cref="RoleAway"/>, <see cref="RoleOver"/>), so a holder that comes
/// back after a take-over cannot mistake a later turn for its own. A standby that saw the pipe idle for two periods
/// parks until the holder next goes away (an idle child costs no wake-ups).
/// </remarks>
internal sealed class ChildLink
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan OutputDrainTimeout = TimeSpan.FromSeconds(2);

    private readonly Isolate _isolate;
    private readonly Process _process;
    private readonly FramedSocket _pipe;
    private readonly OutputTail _output;
    private readonly ConcurrentDictionary<long, IChildCall> _pending = new();
    private readonly TaskCompletionSource<ChildEnd> _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<long, IHostBridge> _bridges = new(); // channel ends passed to the child
    private readonly List<string> _lost = []; // what bridges could not deliver, for the end's description; also the lock for itself
    private readonly HashSet<string> _sentAssemblies = new(StringComparer.OrdinalIgnoreCase); // also the lock for itself
    private readonly HostObjects _objects;
    private int _loaderVersion = -1;
    private long _nextId;
    private long _nextBridge;
    private int _stopping; // 1: closing, 2: killed, 3: killed after the close timeout
    private IsolateExecutionException? _fault;
    private IsolateExecutionException? _memoryFault;
    private bool _closedCleanly;
    private TaskCompletionSource? _ready;

    // The reading role (see the remarks).
    // How often a standby looks while the holder was reading at its last look, and how soon after it saw the holder away
    // (see ChildPipeReader.Period for why not every millisecond all the time): a holder away for good is noticed in 1-11 ms.
    internal static readonly TimeSpan StandbyPeriod = TimeSpan.FromMilliseconds(10);
    internal static readonly TimeSpan StandbyConfirmPeriod = TimeSpan.FromMilliseconds(1);
    private const long RoleReading = 0;
    private const long RoleAway = 1;
    private const long RoleOver = 2;
    private long _role;
    private int _standbys;
    private int _parkedStandbys;
    private readonly SemaphoreSlim _standbyWake = new(0, int.MaxValue);

    private ChildLink(Isolate isolate, Process process, FramedSocket pipe, OutputTail output)
    {
        _isolate = isolate;
        _process = process;
        _pipe = pipe;
        _output = output;
        ProcessId = process.Id;
        _objects = new HostObjects(this);
    }

    public int ProcessId { get; }

    /// <summary>Whether the child has ended, or its process has exited and the pipe has not told yet.</summary>
    public bool HasExited
    {
        get
        {
            if (_ended.Task.IsCompleted)
            {
                return true;
            }

            try
            {
                return _process.HasExited;
            }
            catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                return true; // disposed: it has ended
            }
        }
    }

    /// <summary>A pre-warmed child handed out: its isolate takes the creator's name and options (timeouts, queue bound) too.</summary>
    public void Adopt(IsolateOptions options, string name) => _pipe.TrySend(FrameType.Adopt, 0, OptionsFor(options, name).Encode());

    /// <summary>The options the child's isolate is built with; its host services exported for the child's whole life.</summary>
    private ChildOptions OptionsFor(IsolateOptions options, string name)
    {
        ChildOptions child = ChildOptions.From(options, name);
        if (options.HostServices is not { } services)
        {
            return child;
        }

        return child with { Services = [.. services.References.Select(reference => _objects.Add(reference, -1, permanent: true))] };
    }

    /// <summary>A bridge whose channel is done with in both directions: no frame for it can matter any more.</summary>
    public void ForgetBridge(long id, IHostBridge bridge) => _bridges.TryRemove(new KeyValuePair<long, IHostBridge>(id, bridge));

    /// <summary>The host's objects passed to the child and the child's calls of them.</summary>
    internal HostObjects Objects => _objects;

    /// <summary>Channel bridges still open to the child (for tests and diagnostics).</summary>
    internal int BridgeCount => _bridges.Count;

    /// <summary>Calls sent and not answered yet.</summary>
    public int PendingCount => _pending.Count;

    public long IsolateId => _isolate.Id;

    /// <summary>The child-process isolate (the owner of the objects the child sends here).</summary>
    public Isolate Isolate => _isolate;

    public string IsolateName => _isolate.Name;

    /// <summary>The pipe, for the channel bridges' frames.</summary>
    public FramedSocket Pipe => _pipe;

    /// <summary>Completes once the child has exited and every call has been completed.</summary>
    public Task<ChildEnd> Ended => _ended.Task;

    /// <summary>Starts the child and waits until its isolate runs; kills it on any failure (nothing is left behind).</summary>
    public static async Task<ChildLink> StartAsync(Isolate isolate, IsolateOptions options, CancellationToken cancellationToken)
    {
        string endpoint = ChildLauncher.NewEndpoint();
        ProcessStartInfo info = ChildLauncher.Create(endpoint, options.MemoryLimit);
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        Process? process = null;
        var output = new OutputTail();
        try
        {
            try
            {
                listener.Bind(new UnixDomainSocketEndPoint(endpoint));
            }
            catch (SocketException ex)
            {
                throw new IsolateClosedException(isolate.Id, isolate.Name,
                    $"Child-process isolate '{isolate.Name}' failed to start: the host could not listen on '{endpoint}' for its child ({ex.Message}). " +
                    "The socket is made in the temporary folder (TMPDIR): make sure it exists and is writable.", ex) { NotStarted = true };
            }

            listener.Listen(1);
            process = new Process { StartInfo = info, EnableRaisingEvents = true };
            process.OutputDataReceived += (_, e) => output.Add(e.Data, error: false);
            process.ErrorDataReceived += (_, e) => output.Add(e.Data, error: true);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(StartTimeout);
            Task<Socket> accept = listener.AcceptAsync(timeout.Token).AsTask();
            Task exited = process.WaitForExitAsync(timeout.Token);
            if (await Task.WhenAny(accept, exited).ConfigureAwait(false) != accept)
            {
                cancellationToken.ThrowIfCancellationRequested();
                throw StartFailed(isolate, process, output, "it exited before it connected");
            }

            Socket socket;
            try
            {
                socket = await accept.ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw StartFailed(isolate, process, output, $"it did not connect within {StartTimeout.TotalSeconds:0} s");
            }

            var pipe = new FramedSocket(socket);
            var link = new ChildLink(isolate, process, pipe, output);
            pipe.TrySend(FrameType.Hello, 0, link.OptionsFor(options, isolate.Name).Encode());
            link.SendLoaderState();
            var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            link._ready = ready;
            link.StartStandby();
            var reader = new Thread(() => link.RoleLoop(holder: true))
            {
                IsBackground = true,
                Name = $"isolate-pipe:{isolate.Name}",
            };
            reader.Start();
            using (cancellationToken.UnsafeRegister(static s => ((Process)s!).KillQuietly(), process))
            {
                await Task.WhenAny(ready.Task, link.Ended).ConfigureAwait(false);
            }

            if (!ready.Task.IsCompleted)
            {
                ChildEnd end = await link.Ended.ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
                throw new IsolateClosedException(isolate.Id, isolate.Name, $"Child-process isolate '{isolate.Name}' failed to start: {end.Description}", end.Fault);
            }

            return link;
        }
        catch
        {
            process?.KillQuietly();
            throw;
        }
        finally
        {
            TryDelete(endpoint);
        }
    }

    private static IsolateClosedException StartFailed(Isolate isolate, Process process, OutputTail output, string what)
    {
        process.KillQuietly();
        process.WaitForExit(5000);
        string[] lines = output.Snapshot();
        return new IsolateClosedException(isolate.Id, isolate.Name,
            $"Child-process isolate '{isolate.Name}' failed to start: {what} (exit code {(process.HasExited ? process.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture) : "none")})." +
            (lines.Length > 0 ? " Its last output: " + string.Join(" | ", lines) : string.Empty));
    }

    /// <summary>Sends a call; the task completes with the child's answer, or fails when the child ends first.</summary>
    public Task<TResult> CallAsync<TArgs, TResult>(CallPlan plan, TArgs args, CancellationToken cancellationToken, string? traceParent = null, CallGate? gate = null)
        where TArgs : struct, IArgs
    {
        byte[] header, payload;
        ObjectSpec[] exports;
        ChannelSpec[] channels;
        try
        {
            (header, payload, exports, channels) = EncodeCall(plan, args, traceParent);
        }
        catch (Exception ex)
        {
            return Task.FromException<TResult>(ex);
        }

        if (cancellationToken.IsCancellationRequested)
        {
            // Cancelled since the caller's check (while the call was encoded or traced): never sent, so never run,
            // and the child never counts the proxies exported for it.
            Unsend(exports, channels);
            return Task.FromCanceled<TResult>(cancellationToken);
        }

        long id = Interlocked.Increment(ref _nextId);
        var call = new ChildCall<TResult>(this, id, plan.WireResultCodec) { Exports = exports, Channels = channels };
        _pending[id] = call;
        if (_ended.Task.IsCompleted || Volatile.Read(ref _stopping) != 0)
        {
            // The child is ending: its end fails the calls it knows; this one may have come too late for that.
            if (_pending.TryRemove(id, out _))
            {
                call.Fail(ClosedReason("before the call was made"));
            }

            return call.HandOut();
        }

        if (gate is not null)
        {
            // IsolateOptions.MaxQueuedCalls: a place is held from the send until the answer. A call without one waits
            // in the gate's line (in order, cancellable) and is sent by whoever gives a place back.
            call.WaitForPlace(gate, header, payload);
            call.WatchCancellation(cancellationToken);
            if (!gate.TryEnter(call))
            {
                return call.HandOut(); // waiting, or refused because the isolate is closing
            }

            call.HoldPlace(gate);
            SendAdmitted(call, id, header, payload);
            return call.HandOut();
        }

        if (!call.Send(() => SendCall(id, header, payload)))
        {
            if (_pending.TryRemove(id, out _))
            {
                call.Fail(ClosedReason("before the call was sent"));
            }

            return call.HandOut();
        }

        // Watched only once sent, so a Cancel frame always follows its call (sent before it, the child ignored a Cancel
        // for a call it did not know yet). A cancellation from here on is one that meets the call as it starts.
        call.WatchCancellation(cancellationToken);
        return call.HandOut();
    }

    /// <summary>
    /// The host's assemblies held in memory (compiled scripts) and extra probing folders: a child-process isolate can
    /// run functions only from assemblies it can load, so it gets the same ones as the host's isolates: all of them at
    /// start, and before a call any registered since (a script compiled after the child started; the function may name
    /// it only by a string, as a script's entry does).
    /// </summary>
    private void SendLoaderState()
    {
        int version = Loader.AssemblyLocator.Version;
        if (version == Volatile.Read(ref _loaderVersion))
        {
            return;
        }

        lock (_sentAssemblies)
        {
            foreach (string folder in Loader.AssemblyLocator.ProbingSnapshot())
            {
                if (_sentAssemblies.Add("folder:" + folder))
                {
                    _pipe.TrySend(FrameType.Probe, 0, System.Text.Encoding.UTF8.GetBytes(folder));
                }
            }

            foreach (KeyValuePair<string, Loader.AssemblyLocator.InMemoryAssembly> assembly in Loader.AssemblyLocator.InMemorySnapshot())
            {
                SendAssembly(assembly.Key, assembly.Value);
            }

            Volatile.Write(ref _loaderVersion, version);
        }
    }

    private void SendAssembly(string name, Loader.AssemblyLocator.InMemoryAssembly image)
    {
        lock (_sentAssemblies)
        {
            // Under the lock, so a call racing this one cannot overtake the image on the pipe.
            if (_sentAssemblies.Add(name))
            {
                _pipe.TrySend(FrameType.Assembly, 0, AssemblyFrame.Encode(name, image.Image, image.Symbols));
            }
        }
    }

    // The frame is assembled in a pooled buffer (frame header, call header, payload) and sent in one system call.
    private bool SendCall(long id, byte[] header, byte[] payload)
    {
        int length = FramedSocket.HeaderSize + header.Length + payload.Length;
        byte[] frame = System.Buffers.ArrayPool<byte>.Shared.Rent(length);
        try
        {
            header.CopyTo(frame, FramedSocket.HeaderSize);
            payload.CopyTo(frame, FramedSocket.HeaderSize + header.Length);
            return _pipe.TrySendFramed(FrameType.Call, id, frame, length);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(frame);
        }
    }

    // A call's header without a trace context depends on its plan alone: encoded once per plan (the assembly's name
    // alone is some 80 bytes), so an untraced call encodes only its arguments.
    private static readonly ConditionalWeakTable<CallPlan, byte[]> UntracedHeaders = new();

    private (byte[] Header, byte[] Payload, ObjectSpec[] Exports, ChannelSpec[] Channels) EncodeCall<TArgs>(CallPlan plan, TArgs args, string? traceParent)
        where TArgs : struct, IArgs
    {
        Codec?[] codecs = plan.WireArgumentCodecs;
        int count = 0;
        foreach (Codec? codec in codecs)
        {
            count += codec is null ? 0 : 1;
        }

        byte[] payload = [];
        object[]? attachments = null;
        List<(int Index, int Kind)>? ends = null;
        if (count > 0)
        {
            var encodeWith = new Codec[count];
            var values = new object?[count];
            int k = 0;
            for (int i = 0; i < codecs.Length; i++)
            {
                if (codecs[i] is { } codec)
                {
                    encodeWith[k] = codec;
                    values[k++] = args.Get(i);
                }
            }

            payload = ChannelEndCodec.EncodeRecordingEnds(encodeWith, values, out attachments, out ends);
        }

        SendLoaderState();
        byte[] header;
        ObjectSpec[] objects = [];
        ChannelSpec[] channels = [];
        if (attachments is not null)
        {
            // Channel ends or proxies among the arguments: bridged or exported per call, so this header is the call's own.
            (channels, objects) = OpenBridges(plan, attachments, ends!);
            header = (CallHeader.For(plan.Method, plan.Shape, traceParent) with { Channels = channels, Objects = objects }).Encode([]);
        }
        else
        {
            header = traceParent is not null
                ? CallHeader.For(plan.Method, plan.Shape, traceParent).Encode([])
                : UntracedHeaders.GetValue(plan, static p => CallHeader.For(p.Method, p.Shape, traceParent: null).Encode([]));
        }

        return (header, payload, objects, channels);
    }

    /// <summary>
    /// A call that was never sent (cancelled or refused before it went out): the child never counts its proxies nor
    /// opens its channel ends, so the host lets go of them now (a bridge nothing was taken for ends cleanly).
    /// </summary>
    public void Unsend(ObjectSpec[] exports, ChannelSpec[] channels)
    {
        _objects.Unsend(exports);
        foreach (ChannelSpec channel in channels)
        {
            if (_bridges.TryRemove(channel.Bridge, out IHostBridge? bridge))
            {
                // On the thread pool: a reading bridge's end waits for its pump.
                ThreadPool.UnsafeQueueUserWorkItem(static b => _ = b.End(writerLost: null), bridge, preferLocal: false);
            }
        }
    }

    /// <summary>
    /// Bridges each channel end among a call's arguments over the pipe (<see cref="HostBridge"/>); the child builds an end
    /// of its own over a local channel wired to the bridge. Exports each proxy (<see cref="HostObjects"/>): the child
    /// calls the object back through this process. Shared buffers (memory of this process) and a whole
    /// <c>Channel&lt;T&gt;</c> are refused before anything is opened.
    /// </summary>
    private (ChannelSpec[] Channels, ObjectSpec[] Objects) OpenBridges(CallPlan plan, object[] attachments, List<(int Index, int Kind)> ends)
    {
        var kinds = new int[attachments.Length];
        Array.Fill(kinds, -1);
        foreach ((int index, int kind) in ends)
        {
            if ((uint)index < (uint)kinds.Length)
            {
                kinds[index] = kind;
            }
        }

        int channelCount = 0;
        for (int i = 0; i < attachments.Length; i++)
        {
            if (attachments[i] is CompilerServices.ObjectReference)
            {
                continue;
            }

            if (attachments[i] is not ChannelCore || kinds[i] < 0)
            {
                Payload.Release(attachments);
                throw new NotShareableException(null, string.Empty, attachments[i] is ChannelCore
                    ? $"An argument of {plan.DisplayName} holds a channel end inside a value that was encoded separately; pass channel ends to a child-process isolate as arguments or members of arguments."
                    : $"An argument of {plan.DisplayName} holds a shared buffer; it cannot cross to a child-process isolate (it is memory of this process). Pass the data itself, or a channel.");
            }

            channelCount++;

            if (kinds[i] == 2)
            {
                Payload.Release(attachments);
                throw new NotShareableException(null, string.Empty,
                    $"An argument of {plan.DisplayName} is a whole Channel<T>; a child-process isolate can get its Reader or its Writer (or both, as two arguments), not the pair. " +
                    "Each end crossing to a child is bridged in one direction with a window of items in flight, and a Channel<T> promises one buffer that both ends see (Count, TryPeek, " +
                    "a write visible to the next read at once), which two bridges in opposite directions would not keep.");
            }
        }

        // Proxies first: an export refused (the child has ended) leaves no bridge behind.
        var objects = new ObjectSpec[attachments.Length - channelCount];
        for (int i = 0, k = 0; i < attachments.Length; i++)
        {
            if (attachments[i] is CompilerServices.ObjectReference reference)
            {
                objects[k++] = _objects.Add(reference, i);
            }
        }

        var specs = new ChannelSpec[channelCount];
        for (int i = 0, k = 0; i < attachments.Length; i++)
        {
            if (attachments[i] is not ChannelCore core)
            {
                continue;
            }

            var spec = new ChannelSpec(Interlocked.Increment(ref _nextBridge), ChildWrites: kinds[i] == 1, core.ElementTypeName, core.DirectElementType?.AssemblyQualifiedName, HostBridge.WindowFor(core))
            {
                SurvivesWriterFaults = core.SurvivesWriterFaults,
                Index = i,
            };
            _bridges[spec.Bridge] = HostBridge.Create(this, spec, core);
            specs[k++] = spec;
        }

        return (specs, objects);
    }

    /// <summary>Something a channel bridge could not deliver: logged now, and said in the child's end if it has not ended yet.</summary>
    public void ReportLost(string what)
    {
        lock (_lost)
        {
            _lost.Add(what);
        }

        _isolate.LogChannelItemsLost(what);
    }

    /// <summary>Sends a call that holds a place in the gate (a Cancel frame, if any, follows it: see ChildCall.Send).</summary>
    public void SendAdmitted<TResult>(ChildCall<TResult> call, long id, byte[] header, byte[] payload)
    {
        if (!call.Send(() => SendCall(id, header, payload)) && _pending.TryRemove(id, out _))
        {
            call.Fail(ClosedReason("before the call was sent"));
        }
    }

    /// <summary>Takes a call out of the waiting set; false when it was completed (or taken) already.</summary>
    public bool Forget(long id, IChildCall call) => _pending.TryRemove(new KeyValuePair<long, IChildCall>(id, call));

    public void SendCancel(long id) => _pipe.TrySend(FrameType.Cancel, id, []);

    /// <summary>Asks the child to close its isolate; kills it if it has not ended within <paramref name="timeout"/>.</summary>
    public async Task CloseAsync(TimeSpan timeout, TimeProvider timeProvider)
    {
        if (Interlocked.CompareExchange(ref _stopping, 1, 0) == 0)
        {
            StopTaking(); // a closing isolate's reads are cancelled: items sent now would only be stranded in it
            _pipe.TrySend(FrameType.Close, 0, []);
        }

        // The child's own isolate waits CloseTimeout for a busy thread; give the process that long, plus its exit.
        TimeSpan grace = timeout == Timeout.InfiniteTimeSpan || timeout.TotalMilliseconds >= uint.MaxValue / 2 ? Timeout.InfiniteTimeSpan : timeout + TimeSpan.FromSeconds(2);
        try
        {
            await (grace == Timeout.InfiniteTimeSpan ? Ended : Diagnostics.UserClock.WaitAsync(Ended, grace, timeProvider)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Interlocked.Exchange(ref _stopping, 3);
            _process.KillQuietly(); // a stuck child really ends
            await Ended.ConfigureAwait(false);
        }
    }

    /// <summary>Ends the child at once.</summary>
    public Task<ChildEnd> KillAsync()
    {
        if (!_ended.Task.IsCompleted)
        {
            Volatile.Write(ref _stopping, 2);
            StopTaking();
            _process.KillQuietly();
        }

        return Ended;
    }

    private void StartStandby()
    {
        Interlocked.Increment(ref _standbys);
        new Thread(() => RoleLoop(holder: false))
        {
            IsBackground = true,
            Name = $"isolate-pipe standby:{_isolate.Name}",
        }.Start();
    }

    // A pipe thread: reads while it holds the role, stands by while another does, ends when the pipe has ended (or
    // when it lost the role and another standby is there already).
    private void RoleLoop(bool holder)
    {
        while (true)
        {
            if (holder)
            {
                if (!ReadWhileHolding())
                {
                    return; // the pipe ended
                }

                Diagnostics.Interleave.Point("link.pipe.lost");
                if (Interlocked.Increment(ref _standbys) > 1)
                {
                    Interlocked.Decrement(ref _standbys);
                    return; // one standby is enough
                }

                holder = false;
            }
            else
            {
                if (!StandBy())
                {
                    return;
                }

                holder = true;
            }
        }
    }

    // Reads frames until the pipe ends (false) or a standby took the role while this thread ran a completion (true).
    private bool ReadWhileHolding()
    {
        try
        {
            while (_pipe.TryReceive(out FrameType type, out long id, out byte[] body))
            {
                switch (type)
                {
                    case FrameType.Result:
                    case FrameType.ResultWithObjects:
                    case FrameType.Error:
                        if (_pending.TryRemove(id, out IChildCall? call))
                        {
                            long mine = Interlocked.Add(ref _role, 4 + RoleAway); // the next turn, away (only the holder moves a reading role)
                            if (Volatile.Read(ref _parkedStandbys) != 0)
                            {
                                WakeStandbys(); // the continuation may take long: a standby watches again
                            }

                            call.Answer(type, body); // the caller's continuation may run here
                            Diagnostics.Interleave.Point("link.pipe.answered");
                            if (Interlocked.CompareExchange(ref _role, mine - RoleAway, mine) != mine)
                            {
                                return true; // away too long: a standby reads now
                            }
                        }
                        else if (type == FrameType.ResultWithObjects)
                        {
                            _objects.DiscardResult(body); // cancelled meanwhile: the child's objects in it are not taken in
                        }

                        break;
                    case FrameType.Ready:
                        _ready?.TrySetResult();
                        break;
                    case FrameType.Fault:
                        _fault ??= ReadFault(body);
                        break;
                    case FrameType.MemoryLimit:
                        _memoryFault ??= ReadFault(body);
                        break;
                    case FrameType.Closed:
                        _closedCleanly = true;
                        break;
                    case FrameType.ChannelItems when _bridges.TryGetValue(id, out IHostBridge? bridge):
                        bridge.OnItems(body);
                        break;
                    case FrameType.ChannelDone when _bridges.TryGetValue(id, out IHostBridge? bridge):
                        bridge.OnDone(body);
                        break;
                    case FrameType.ChannelCredit when _bridges.TryGetValue(id, out IHostBridge? bridge) && body.Length == 4:
                        bridge.OnCredit(System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(body));
                        break;
                    case FrameType.ObjectCall:
                        _objects.OnCall(id, body);
                        break;
                    case FrameType.ObjectCancel:
                        _objects.OnCancel(id);
                        break;
                    case FrameType.ObjectRelease:
                        _objects.OnRelease(id, body);
                        break;
                    case FrameType.ObjectDrop:
                        _objects.OnDrop(id, body);
                        break;
                }
            }
        }
        catch (Exception ex)
        {
            _fault ??= new IsolateExecutionException(_isolate.Id, _isolate.Name, ex.GetType().FullName!, $"The pipe from the child process broke: {ex.Message}", null);
            _process.KillQuietly();
        }

        Interlocked.Exchange(ref _role, RoleOver);
        WakeStandbys();
        Finish();
        return false;
    }

    // Waits until the holder has been away from the pipe for a whole period (true: this thread holds the role now) or
    // the pipe has ended (false).
    private bool StandBy()
    {
        long seen = -1;
        int idle = 0;
        while (true)
        {
            long role = Volatile.Read(ref _role);
            long phase = role & 3;
            if (phase == RoleOver)
            {
                Interlocked.Decrement(ref _standbys);
                return false;
            }

            if (phase == RoleAway && role == seen && Interlocked.CompareExchange(ref _role, role - RoleAway + 4, role) == role)
            {
                Diagnostics.Interleave.Point("link.pipe.tookOver");
                if (Interlocked.Decrement(ref _standbys) == 0)
                {
                    StartStandby(); // the old holder may never come back (a continuation that blocks for good)
                }

                return true;
            }

            idle = phase == RoleReading && role == seen ? idle + 1 : 0;
            seen = role;
            if (idle < 2)
            {
                Thread.Sleep(phase == RoleAway ? StandbyConfirmPeriod : StandbyPeriod);
                continue;
            }

            // Idle for two periods: park until the holder next goes away (or the pipe ends).
            Interlocked.Increment(ref _parkedStandbys);
            Diagnostics.Interleave.Point("link.pipe.parking");
            if (Volatile.Read(ref _role) == role || !Unpark())
            {
                _standbyWake.Wait(); // (when the undo failed, the holder took the count and its release is on its way)
            }

            seen = -1;
            idle = 0;
        }
    }

    private bool Unpark()
    {
        int parked = Volatile.Read(ref _parkedStandbys);
        while (parked > 0)
        {
            int was = Interlocked.CompareExchange(ref _parkedStandbys, parked - 1, parked);
            if (was == parked)
            {
                return true;
            }

            parked = was;
        }

        return false;
    }

    private void WakeStandbys()
    {
        int parked = Interlocked.Exchange(ref _parkedStandbys, 0);
        if (parked > 0)
        {
            _standbyWake.Release(parked);
        }
    }

    private IsolateExecutionException? ReadFault(byte[] body)
    {
        try
        {
            return RemoteError.Decode(body, _isolate.Id, _isolate.Name) as IsolateExecutionException;
        }
        catch (Exception)
        {
            return null;
        }
    }

    /// <summary>Channels the child reads give it no more items (those already taken for it are counted at its end).</summary>
    private void StopTaking()
    {
        foreach (IHostBridge bridge in _bridges.Values)
        {
            bridge.StopTaking();
        }
    }

    private void Finish()
    {
        StopTaking();
        _objects.End(); // the child's calls of this process's objects are cancelled; nothing is kept for it
        _pipe.Dispose();
        if (!_process.WaitForExit(10_000))
        {
            _process.KillQuietly(); // the pipe ended but the process lingers (it closed its end itself): end it
            _process.WaitForExit(5_000);
        }

        // The last lines are usually in by now; wait a little for the rest, but not for the streams' end itself: a
        // process the child started inherits them and may hold them open long after the child is gone (WaitForExit()
        // without a timeout would wait for that, and every call and the close with it).
        _output.Drained.Wait(OutputDrainTimeout);
        int? exitCode = _process.HasExited ? _process.ExitCode : null;
        ChildEnd end = Classify(exitCode);
        _process.Dispose();
        end = EndBridges(end);

        var reason = new IsolateClosedException(_isolate.Id, _isolate.Name, $"Child-process isolate '{_isolate.Name}' ended before the call finished: {end.Description}", end.Fault);
        foreach (long id in _pending.Keys)
        {
            if (_pending.TryRemove(id, out IChildCall? call))
            {
                call.Fail(reason);
            }
        }

        _ended.TrySetResult(end);
    }

    /// <summary>
    /// The child is gone and the pipe was read to its end: channels it read stop giving it items (those taken for it and
    /// never acknowledged are reported), channels it wrote get its last items and are completed with an error naming it,
    /// unless it closed cleanly (then they stay open, as an in-process isolate's do).
    /// </summary>
    private ChildEnd EndBridges(ChildEnd end)
    {
        IsolateClosedException? writerLost = end.Reason == IsolateExitReason.Closed ? null
            : new IsolateClosedException(_isolate.Id, _isolate.Name, $"Child-process isolate '{_isolate.Name}' ({_isolate.Id}), which held a writer of this channel, ended: {end.Description}", end.Fault);
        foreach (long id in _bridges.Keys)
        {
            if (_bridges.TryRemove(id, out IHostBridge? bridge) && bridge.End(writerLost) is { } lost)
            {
                ReportLost(lost);
            }
        }

        string? note;
        lock (_lost)
        {
            note = _lost.Count == 0 ? null : string.Join("; ", _lost) + ".";
        }

        return note is null ? end : end with { Description = end.Description + " Channels: " + note, LostItems = note };
    }

    private ChildEnd Classify(int? exitCode)
    {
        string[] lines = _output.Snapshot();
        string code = exitCode is int c ? $"exit code {c}{SignalName(c)}" : "no exit code";
        string tail = lines.Length > 0 ? " Last output: " + string.Join(" | ", lines.TakeLast(5)) : string.Empty;
        switch (Volatile.Read(ref _stopping))
        {
            case 2:
                return new ChildEnd(IsolateExitReason.Killed, exitCode, null, lines, $"it was killed ({code}).");
            case 3:
                return new ChildEnd(IsolateExitReason.Stuck, exitCode, null, lines, "it did not close within CloseTimeout and was killed.");
        }

        // The heap limit surfaces as an OutOfMemoryException wherever the allocation failed: in a call (reported as the
        // limit), in the runtime's own code on the isolate's thread (the isolate faults) or on another thread (the process dies).
        _memoryFault ??= _isolate.Options.MemoryLimit > 0 && _fault?.RemoteType == typeof(OutOfMemoryException).FullName ? _fault : null;
        if (_memoryFault is not null || exitCode == ChildExitCodes.MemoryLimit)
        {
            return new ChildEnd(IsolateExitReason.MemoryLimitExceeded, exitCode, _memoryFault, lines,
                $"it reached its memory limit ({_isolate.Options.MemoryLimit:N0} bytes of GC heap) and ended ({code}).");
        }

        if (_fault is { } fault && exitCode == ChildExitCodes.Faulted)
        {
            return new ChildEnd(IsolateExitReason.Faulted, exitCode, fault, lines, $"code escaped the isolate outside any call: {fault.RemoteType}: {fault.Message}");
        }

        if (_closedCleanly && exitCode == 0 && Volatile.Read(ref _stopping) == 1)
        {
            return new ChildEnd(IsolateExitReason.Closed, exitCode, null, lines, "it was closed.");
        }

        string what = _fault is { } unhandled
            ? $"an unhandled {unhandled.RemoteType} ended the process ({code}): {unhandled.Message}."
            : $"the child process ended unexpectedly ({code}).{tail}";
        IsolateExecutionException crash = _fault ?? new IsolateExecutionException(_isolate.Id, _isolate.Name, "ChildProcessExited", $"The child process ended unexpectedly ({code}).{tail}", null);
        return new ChildEnd(IsolateExitReason.Crashed, exitCode, crash, lines, what);
    }

    /// <summary>On Unix a process ended by a signal reports 128 + the signal number.</summary>
    private static string SignalName(int exitCode) => OperatingSystem.IsWindows() ? string.Empty : exitCode switch
    {
        134 => ", SIGABRT: the runtime aborted it (a stack overflow, Environment.FailFast or an unhandled exception)",
        137 => ", SIGKILL",
        139 => ", SIGSEGV",
        143 => ", SIGTERM",
        _ => string.Empty,
    };

    private IsolateClosedException ClosedReason(string when) =>
        new(_isolate.Id, _isolate.Name, $"Child-process isolate '{_isolate.Name}' ({_isolate.Id}) was closed {when}.") { NotStarted = true };

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // a leftover socket file in the temp folder is harmless
        }
    }
}

internal static class ProcessExtensions
{
    public static void KillQuietly(this Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            // it has exited already
        }
    }
}
