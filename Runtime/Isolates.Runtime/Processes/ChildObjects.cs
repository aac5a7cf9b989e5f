using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using Isolates.Calls;
using Isolates.CompilerServices;
using Isolates.Errors;
using Isolates.Proxies;
using Isolates.Wire;
using MessagePack;

namespace Isolates.Processes;

/// <summary>
/// The child's side of the host's objects passed into a child-process isolate (proxies among a call's arguments, in
/// object calls' results, and host services): each is imported once per export as an <see cref="ObjectReference"/>
/// routed here, and its calls cross the pipe to the host (<see cref="HostObjects"/>), which runs them as its own proxy
/// calls and answers. Calls are sent in the order they are made, so one caller's calls run in order, as in-process.
/// </summary>
/// <remarks>
/// Lifetime is counted, not guessed: the host counts every time it sends an export; the child counts every time it
/// imports one (reusing the live reference), and when that reference is collected it tells the host how many sends it
/// is done with (<see cref="FrameType.ObjectDrop"/>); the host forgets the export when the counts meet. So a send that
/// crossed a drop on the pipe keeps the export, and an object nobody references in either process is released.
/// </remarks>
internal sealed class ChildObjects : ObjectRoute
{
    private readonly ChildServer _server;
    private readonly Dictionary<long, ImportEntry> _imports = []; // also the lock for the counts
    private readonly ConcurrentDictionary<long, IObjectCall> _calls = new();
    private readonly Dictionary<long, Export> _exports = []; // this isolate's objects the host holds proxies of; also their lock
    private long _nextCall;

    public ChildObjects(ChildServer server) => _server = server;

    /// <summary>Objects of this isolate the host holds proxies of (for tests).</summary>
    internal int ExportCount
    {
        get
        {
            lock (_exports)
            {
                return _exports.Count;
            }
        }
    }

    /// <summary>An object of this isolate sent to the host: its reference, kept alive here while the host has sends of it outstanding.</summary>
    private sealed class Export(ObjectReference reference)
    {
        public ObjectReference Reference { get; } = reference;

        public long Sent { get; set; }
    }

    /// <summary>What the child knows of one export: the spec, its live reference, and how many sends of it that reference stands for.</summary>
    internal sealed class ImportEntry(ChildObjects objects, ObjectSpec spec) : ObjectReference.IImported
    {
        public void Unreferenced(ObjectReference reference) => objects.Unreferenced(reference);

        public ObjectSpec Spec { get; } = spec;

        public WeakReference<ObjectReference>? Reference { get; set; }

        public long Received { get; set; }
    }

    /// <summary>The reference for an export the host sent: the live one, or a new one (counted either way).</summary>
    public ObjectReference Import(ObjectSpec spec)
    {
        lock (_imports)
        {
            if (_imports.TryGetValue(spec.Export, out ImportEntry? entry) && entry.Reference!.TryGetTarget(out ObjectReference? live))
            {
                entry.Received++;
                return live;
            }

            entry = new ImportEntry(this, spec) { Received = 1 };
            var reference = new ObjectReference(this, spec.Export, spec.InterfaceName, spec.Description, entry);
            entry.Reference = new WeakReference<ObjectReference>(reference);
            _imports[spec.Export] = entry;
            return reference;
        }
    }

    /// <summary>Sends the host will never see imported (a call cancelled before it ran, an answer nobody waited for): counted as dropped.</summary>
    public void Discard(ObjectSpec[] specs)
    {
        foreach (ObjectSpec spec in specs)
        {
            SendDrop(spec.Export, 1);
        }
    }

    /// <summary>From the reference's finalizer: nothing in this process references it any more.</summary>
    public void Unreferenced(ObjectReference reference)
    {
        var entry = (ImportEntry)reference.RouteState!;
        long received;
        lock (_imports)
        {
            if (_imports.TryGetValue(reference.Id, out ImportEntry? current) && current == entry)
            {
                _imports.Remove(reference.Id);
            }

            received = entry.Received;
        }

        // Not from the finalizer thread: a send may wait for the pipe.
        ThreadPool.UnsafeQueueUserWorkItem(static s => s.Self.SendDrop(s.Export, s.Received), (Self: this, Export: reference.Id, Received: received), preferLocal: false);
    }

    private void SendDrop(long export, long count) => ObjectSpec.SendDrop(_server.Pipe, export, count);

    /// <summary>The attachments of a payload the host sent: channel ends wired to their bridges, the host's objects imported.</summary>
    public object[]? Attachments(ChannelSpec[] channels, ObjectSpec[] objects)
    {
        int count = channels.Length + objects.Length;
        if (count == 0)
        {
            return null;
        }

        // Proxies first: once imported, each is counted and dropped by its finalizer, even if a channel below fails to open.
        var attachments = new object[count];
        foreach (ObjectSpec spec in objects)
        {
            attachments[spec.Index] = Import(spec);
        }

        foreach (ChannelSpec channel in channels)
        {
            attachments[channel.Index] = ChildBridge.Open(_server, channel);
        }

        return attachments;
    }

    /// <summary>
    /// The proxies among the attachments of a payload going to the host: the host's own objects go back by the id it
    /// knows them by; this isolate's objects are sent (and counted: kept alive here until the host lets go of them).
    /// Anything else is refused, saying what.
    /// </summary>
    public SentObject[] Send(object[]? attachments, string what)
    {
        if (attachments is null)
        {
            return [];
        }

        for (int i = 0; i < attachments.Length; i++)
        {
            bool sendable = attachments[i] switch
            {
                ObjectReference { Route: ChildObjects } => true, // the host's own object, going back
                ObjectReference { Route: null, RouteState: null, Owner: { } owner } => owner == _server.Isolate, // not an isolate the child's code made
                _ => false,
            };
            if (sendable)
            {
                continue;
            }

            Payload.Release(attachments);
            throw new NotShareableException(null, string.Empty, attachments[i] is ObjectReference other
                ? $"{what} holds a proxy of {other.Description}, which cannot cross to the host: only the host's own objects and objects of this child-process isolate itself can."
                : $"{what} holds a channel end or a shared buffer, which cannot cross from a child-process isolate to its host there; pass channel ends to the child as call arguments.");
        }

        var sent = new SentObject[attachments.Length];
        lock (_exports)
        {
            for (int i = 0; i < attachments.Length; i++)
            {
                var reference = (ObjectReference)attachments[i];
                if (reference.Route is ChildObjects)
                {
                    sent[i] = new SentObject(ChildOwned: false, reference.Id, string.Empty);
                    continue;
                }

                if (!_exports.TryGetValue(reference.Id, out Export? export))
                {
                    export = new Export(reference);
                    _exports.Add(reference.Id, export);
                }

                Debug.Assert(ReferenceEquals(export.Reference, reference), "one reference per object in a process");
                export.Sent++;
                sent[i] = new SentObject(ChildOwned: true, reference.Id, reference.InterfaceName);
            }
        }

        return sent;
    }

    /// <summary>The host let go of some sends of one of this isolate's objects (the count is the body).</summary>
    public void OnDrop(long id, byte[] body)
    {
        if (body.Length != 8)
        {
            return;
        }

        long count = BinaryPrimitives.ReadInt64LittleEndian(body);
        lock (_exports)
        {
            if (_exports.TryGetValue(id, out Export? export))
            {
                export.Sent -= count;
                if (export.Sent <= 0)
                {
                    _exports.Remove(id); // nothing here keeps the object for the host now: unreferenced, it is released
                }
            }
        }
    }

    /// <summary>
    /// Run in the child, on its isolate's thread, for the host's Isolate.ReleaseAsync of one of this isolate's objects it
    /// was sent: this process's reference is marked released first (as an in-process release marks the one reference
    /// every proxy shares), so the child's own proxies of it fail as released, and a release the child makes itself
    /// waits for this one.
    /// </summary>
    internal static Task ReleaseForHostAsync(long id)
    {
        ObjectReference? reference = null;
        if (ChildServer.Current is { } server)
        {
            lock (server.Objects._exports)
            {
                reference = server.Objects._exports.TryGetValue(id, out Export? export) ? export.Reference : null;
            }
        }

        if (reference is null)
        {
            return ObjectConstruction.ReleaseAsync(id); // not held for the host any more (a drop crossed the release)
        }

        if (!reference.TryBeginRelease(out TaskCompletionSource releasing))
        {
            return releasing.Task; // the child released it already: the host's release completes with that one
        }

        Task released = ObjectConstruction.ReleaseAsync(id);
        _ = released.ContinueWith(static (done, state) => ((TaskCompletionSource)state!).TrySetFromTask(done),
            releasing, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return released;
    }

    /// <inheritdoc />
    public override Task<TResult> Run<TResult>(ObjectReference reference, Delegate stub, ResultShape shape, object?[] arguments, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<TResult>(cancellationToken);
        }

        var entry = (ImportEntry)reference.RouteState!;
        if (reference.IsReleased)
        {
            return Task.FromException<TResult>(new IsolateClosedException(entry.Spec.OwnerId, entry.Spec.OwnerName,
                $"{reference.Description} was released (Isolate.ReleaseAsync) before the call was made; create a new object to go on.") { NotStarted = true });
        }

        byte[] body;
        List<CancellationToken> tokens = [];
        CallPlan plan;
        try
        {
            plan = CallPlan.Get(stub, shape);
            body = EncodeCall(reference, stub, plan, arguments, tokens);
        }
        catch (Exception ex)
        {
            return Task.FromException<TResult>(ex); // not shareable: refused before anything was sent
        }

        if (cancellationToken.CanBeCanceled)
        {
            tokens.Add(cancellationToken);
        }

        long id = Interlocked.Increment(ref _nextCall);
        var call = new ObjectCall<TResult>(this, id, reference.Description, entry.Spec, plan.WireResultCodec);
        _calls[id] = call;
        if (!_server.Pipe.TrySend(FrameType.ObjectCall, id, body))
        {
            Complete(id)?.Fail(new IsolateClosedException(_server.Isolate.Id, _server.Isolate.Name,
                $"The call of {reference.Description} could not be sent: the pipe to the host is gone.") { NotStarted = true });
            return call.Task;
        }

        // Kept until sent: a proxy collected earlier (the callee or an argument) would have its drop overtake the call.
        GC.KeepAlive(reference);
        GC.KeepAlive(arguments);
        call.Watch(tokens, _server.Isolate); // after the send, so a Cancel frame always follows its call
        return call.Task;
    }

    /// <summary>Releases the host's object behind <paramref name="reference"/> (Isolate.ReleaseAsync in the child).</summary>
    public Task ReleaseAsync(ObjectReference reference)
    {
        var entry = (ImportEntry)reference.RouteState!;
        if (entry.Spec.IsHostService)
        {
            throw new InvalidOperationException(
                $"{reference.Description} belongs to the host (IsolateOptions.HostServices) and lives as long as the host keeps it; there is nothing to release.");
        }

        if (!reference.TryBeginRelease(out TaskCompletionSource releasing))
        {
            return releasing.Task;
        }

        long id = Interlocked.Increment(ref _nextCall);
        var call = new ObjectCall<Unit>(this, id, reference.Description, entry.Spec, resultCodec: null);
        _calls[id] = call;
        Span<byte> body = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(body, reference.Id);
        if (!_server.Pipe.TrySend(FrameType.ObjectRelease, id, body))
        {
            Complete(id)?.Fail(new IsolateClosedException(_server.Isolate.Id, _server.Isolate.Name, $"The release of {reference.Description} could not be sent: the pipe to the host is gone."));
        }

        GC.KeepAlive(reference); // its drop must not overtake the release

        _ = call.Task.ContinueWith(static (released, state) => ((TaskCompletionSource)state!).TrySetFromTask(released),
            releasing, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return releasing.Task;
    }

    /// <summary>An answer from the host, on whichever thread holds the pipe.</summary>
    public void OnAnswer(FrameType type, long id, byte[] body)
    {
        if (Complete(id) is { } call)
        {
            call.Answer(type, body);
        }
        else if (type == FrameType.ObjectResult)
        {
            Discard(ObjectSpec.ReadPrefix(body, out _)); // cancelled or closed meanwhile: its proxies are not imported
        }
    }

    private IObjectCall? Complete(long id) => _calls.TryRemove(id, out IObjectCall? call) ? call : null;

    private void SendCancel(long id) => _server.Pipe.TrySend(FrameType.ObjectCancel, id, []);

    private byte[] EncodeCall(ObjectReference reference, Delegate stub, CallPlan plan, object?[] arguments, List<CancellationToken> tokens)
    {
        // The host knows the object by its export and gives the call a token of its own, which a Cancel frame fires.
        byte[] payload = StubArguments.Encode(plan, arguments, tokens, out object[]? attachments);
        SentObject[] sent = Send(attachments, $"An argument of {reference.Description}'s {stub.Method.Name}");
        var buffer = new ArrayBufferWriter<byte>(96 + payload.Length);
        var writer = new MessagePackWriter(buffer);
        new ObjectCallHeader(reference.Id, stub.Method.Module.Assembly.FullName!, stub.Method.MetadataToken, plan.Shape, sent).Write(ref writer);
        writer.Flush();
        buffer.Write(payload);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>An object call waiting for the host's answer.</summary>
    private interface IObjectCall
    {
        void Answer(FrameType type, byte[] body);

        void Fail(Exception reason);
    }

    /// <summary>
    /// One call of a host object from the child: completed exactly once, by the host's answer, the caller's token (a
    /// Cancel frame then stops it in the host), or the child's isolate closing (the caller's work is gone).
    /// </summary>
    private sealed class ObjectCall<TResult>(ChildObjects objects, long id, string description, ObjectSpec spec, Codec? resultCodec) : IObjectCall
    {
        private readonly TaskCompletionSource<TResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private CancellationTokenRegistration[] _registrations = [];

        public Task<TResult> Task => _completion.Task;

        public void Watch(List<CancellationToken> tokens, Isolate isolate)
        {
            var registrations = new CancellationTokenRegistration[tokens.Count + 1];
            for (int i = 0; i < tokens.Count; i++)
            {
                registrations[i] = tokens[i].UnsafeRegister(static (state, token) => ((ObjectCall<TResult>)state!).Stop(token, null), this);
            }

            registrations[^1] = isolate.ClosingToken.UnsafeRegister(static (state, _) =>
            {
                var (call, closing) = ((ObjectCall<TResult>, Isolate))state!;
                call.Stop(default, new IsolateClosedException(closing.Id, closing.Name,
                    $"Isolate '{closing.Name}' ({closing.Id}) closed while its call of {call.Description} was running; the call was cancelled in the host."));
            }, (this, isolate));
            _registrations = registrations;
            if (_completion.Task.IsCompleted)
            {
                Unregister(); // answered before it was watched
            }
        }

        private string Description => description;

        /// <summary>The caller's token fired or its isolate closed: done here at once, and the host is told to stop.</summary>
        private void Stop(CancellationToken token, Exception? closed)
        {
            if (objects.Complete(id) is null)
            {
                return; // answered first
            }

            objects.SendCancel(id);
            Unregister();
            _ = closed is null ? _completion.TrySetCanceled(token) : _completion.TrySetException(closed);
        }

        public void Answer(FrameType type, byte[] body)
        {
            Unregister();
            if (type == FrameType.ObjectResult)
            {
                object[]? attachments = null;
                try
                {
                    ObjectSpec[] specs = ObjectSpec.ReadPrefix(body, out ReadOnlyMemory<byte> payload);
                    attachments = objects.Attachments([], specs);
                    _completion.TrySetResult(resultCodec is null ? default! : (TResult)Payload.Decode(payload, resultCodec, attachments)!);
                }
                catch (Exception ex)
                {
                    _completion.TrySetException(ex as IsolateException ?? new IsolateSerializationException($"Rebuilding the result of {description} as {typeof(TResult)} failed: {ex.GetType().Name}: {ex.Message}", ex));
                }

                return;
            }

            Exception? error;
            try
            {
                error = RemoteError.Decode(body, spec.OwnerId, spec.OwnerName);
            }
            catch (Exception ex)
            {
                error = new IsolateSerializationException($"The host's error for the call of {description} could not be read: {ex.Message}", ex);
            }

            _ = error is null ? _completion.TrySetCanceled() : _completion.TrySetException(error);
        }

        public void Fail(Exception reason)
        {
            Unregister();
            _completion.TrySetException(reason);
        }

        private void Unregister()
        {
            foreach (CancellationTokenRegistration registration in _registrations)
            {
                registration.Unregister();
            }
        }
    }
}

/// <summary>What an object call frame says before its arguments: the export called, the stub (by assembly and token), the shape, the proxies among the arguments.</summary>
internal readonly record struct ObjectCallHeader(long Export, string Assembly, int Token, ResultShape Shape, SentObject[] Attachments)
{
    public void Write(ref MessagePackWriter writer)
    {
        writer.WriteArrayHeader(5);
        writer.Write(Export);
        writer.Write(Assembly);
        writer.Write(Token);
        writer.Write((byte)Shape);
        SentObject.Write(ref writer, Attachments);
    }

    public static ObjectCallHeader Read(ReadOnlyMemory<byte> body, out ReadOnlyMemory<byte> payload)
    {
        var reader = new MessagePackReader(body);
        if (reader.ReadArrayHeader() != 5)
        {
            throw new IsolateSerializationException("An object call header of the wrong shape: the pipe is corrupted.");
        }

        long export = reader.ReadInt64();
        string assembly = reader.ReadString() ?? string.Empty;
        int token = reader.ReadInt32();
        var shape = (ResultShape)reader.ReadByte();
        SentObject[] attachments = SentObject.Read(ref reader);
        payload = body[(int)reader.Consumed..];
        return new ObjectCallHeader(export, assembly, token, shape, attachments);
    }
}
