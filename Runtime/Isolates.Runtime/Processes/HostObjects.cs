using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using Isolates.Calls;
using Isolates.CompilerServices;
using Isolates.Errors;
using Isolates.Wire;
using MessagePack;

namespace Isolates.Processes;

/// <summary>
/// The host's side of its objects passed into one child-process isolate: what it exported (proxies sent in calls and
/// answers, host services), counted per send so the child's drops tell when to forget each (see
/// <see cref="ChildObjects"/>), and the child's calls of them, run here as this process's own proxy calls (so an object
/// in an in-process isolate runs them on its thread in order, a host service on the thread pool, an object in another
/// child through that child) and answered over the pipe.
/// </summary>
internal sealed class HostObjects
{
    private readonly ChildLink _link;
    private readonly Dictionary<long, Export> _byId = []; // also the lock for the exports
    private readonly Dictionary<ObjectReference, Export> _byReference = new(ReferenceEqualityComparer.Instance);
    private readonly ConcurrentDictionary<long, CancellationTokenSource> _running = new();
    private readonly Dictionary<long, Import> _imports = []; // the child's objects it sent here, by their id there; also their lock
    private long _nextExport;
    private bool _ended;

    public HostObjects(ChildLink link) => _link = link;

    /// <summary>Objects the child may still call (for tests).</summary>
    internal int ExportCount
    {
        get
        {
            lock (_byId)
            {
                return _byId.Count;
            }
        }
    }

    private sealed class Export(long id, ObjectReference reference)
    {
        public long Id { get; } = id;

        public ObjectReference Reference { get; } = reference;

        /// <summary>Sends the child has not said it is done with.</summary>
        public long Sent { get; set; }

        /// <summary>A host service: exported for the child's whole life.</summary>
        public bool Permanent { get; set; }
    }

    /// <summary>Exports <paramref name="reference"/> for one send (as attachment <paramref name="index"/>).</summary>
    public ObjectSpec Add(ObjectReference reference, int index, bool permanent = false)
    {
        if (reference.Owner is null && reference.Route is not Proxies.HostServiceRoute)
        {
            throw new NotShareableException(null, string.Empty, $"{reference.Description} is not an object of this process and cannot be passed on to a child-process isolate.");
        }

        Export export;
        lock (_byId)
        {
            if (_ended)
            {
                throw new IsolateClosedException(_link.IsolateId, _link.IsolateName, $"Child-process isolate '{_link.IsolateName}' ({_link.IsolateId}) has ended; {reference.Description} cannot be passed to it.") { NotStarted = true };
            }

            if (!_byReference.TryGetValue(reference, out export!))
            {
                export = new Export(++_nextExport, reference);
                _byReference.Add(reference, export);
                _byId.Add(export.Id, export);
            }

            export.Sent++;
            export.Permanent |= permanent;
        }

        Isolate? owner = reference.Owner;
        return new ObjectSpec(index, export.Id, reference.InterfaceName, reference.Description, owner?.Id ?? 0, owner?.Name ?? Proxies.HostCall.HostName);
    }

    /// <summary>The child's objects it sent here (for tests).</summary>
    internal int ImportCount
    {
        get
        {
            lock (_imports)
            {
                return _imports.Count;
            }
        }
    }

    /// <summary>One of the child's objects: the live reference to it here, and how many of the child's sends it stands for.</summary>
    private sealed class Import(HostObjects objects) : ObjectReference.IImported
    {
        public WeakReference<ObjectReference>? Reference { get; set; }

        public long Received { get; set; }

        public void Unreferenced(ObjectReference reference) => objects.Unreferenced(reference, this);
    }

    /// <summary>
    /// The references of the proxies a child sent: the host's own objects come back as the references it exported
    /// (the child holds them, so the host still has them); the child's own objects are imported (counted).
    /// </summary>
    public object[]? Receive(SentObject[] sent)
    {
        if (sent.Length == 0)
        {
            return null;
        }

        // The host's own objects first: an unknown one (a garbled frame) throws before any of the child's objects is
        // counted as received, so the caller's Discard of the whole frame counts none of them twice.
        var references = new object[sent.Length];
        for (int i = 0; i < sent.Length; i++)
        {
            if (!sent[i].ChildOwned)
            {
                references[i] = Find(sent[i].Id);
            }
        }

        for (int i = 0; i < sent.Length; i++)
        {
            if (sent[i].ChildOwned)
            {
                references[i] = ImportFromChild(sent[i]);
            }
        }

        return references;
    }

    /// <summary>Objects of the child's it sent in a frame this process will not take in (an answer to a call no longer waited for, a refused call): the child may let go of them.</summary>
    public void Discard(SentObject[] sent)
    {
        foreach (SentObject one in sent)
        {
            if (one.ChildOwned)
            {
                SendDrop(one.Id, 1);
            }
        }
    }

    /// <summary>A result frame with proxies that no call waits for any more (see <see cref="Discard(SentObject[])"/>).</summary>
    public void DiscardResult(byte[] body)
    {
        try
        {
            var reader = new MessagePackReader(body);
            Discard(SentObject.Read(ref reader));
        }
        catch (Exception ex) when (ex is MessagePackSerializationException or EndOfStreamException or IsolateSerializationException)
        {
            // unreadable: it names nothing the child waits to hear about
        }
    }

    private void SendDrop(long childObject, long count) => ObjectSpec.SendDrop(_link.Pipe, childObject, count);

    private ObjectReference ImportFromChild(SentObject sent)
    {
        lock (_imports)
        {
            if (_imports.TryGetValue(sent.Id, out Import? entry) && entry.Reference!.TryGetTarget(out ObjectReference? live))
            {
                entry.Received++;
                return live;
            }

            entry = new Import(this) { Received = 1 };
            var reference = new ObjectReference(_link.Isolate, sent.Id, sent.InterfaceName, entry);
            entry.Reference = new WeakReference<ObjectReference>(reference);
            _imports[sent.Id] = entry;
            return reference;
        }
    }

    /// <summary>From a finalizer: this process let go of one of the child's objects; the child is told how many sends that was.</summary>
    private void Unreferenced(ObjectReference reference, Import entry)
    {
        long received;
        lock (_imports)
        {
            if (_imports.TryGetValue(reference.Id, out Import? current) && current == entry)
            {
                _imports.Remove(reference.Id);
            }

            received = entry.Received;
        }

        ThreadPool.UnsafeQueueUserWorkItem(static s => s.Self.SendDropAfterQueuedCalls(s.Id, s.Received), (Self: this, reference.Id, Received: received), preferLocal: false);
    }

    /// <summary>
    /// A drop of the child's object, sent after every call already made: under MaxQueuedCalls a call of the object may
    /// still wait in the host for a place (its reference collected meanwhile); a drop overtaking it would let the child
    /// release the object before the call reaches it. So the drop takes its turn in the gate's line, as a call would.
    /// </summary>
    private void SendDropAfterQueuedCalls(long childObject, long count)
    {
        if (_link.Isolate.CallGate is not { } gate)
        {
            SendDrop(childObject, count); // calls are sent as they are made: the drop follows them on the pipe
            return;
        }

        var drop = new GatedDrop(this, childObject, count);
        if (gate.TryEnter(drop))
        {
            drop.Admit(gate);
        }
    }

    /// <summary>A drop waiting in the gate's line behind calls made before it; it holds its place only while it is sent.</summary>
    private sealed class GatedDrop(HostObjects objects, long childObject, long count) : IGatedCall
    {
        public bool IsCompleted => false;

        public void Admit(CallGate gate)
        {
            objects.SendDrop(childObject, count);
            gate.Release();
        }

        public void Refuse(Exception reason)
        {
            // The child's isolate is closing: the object goes with it, nothing to tell.
        }
    }

    /// <summary>The child is done with some sends of an export (the count is the body).</summary>
    public void OnDrop(long id, byte[] body)
    {
        if (body.Length != 8)
        {
            return;
        }

        long count = BinaryPrimitives.ReadInt64LittleEndian(body);
        if (count > 0)
        {
            lock (_byId)
            {
                Forget(id, count);
            }
        }
    }

    /// <summary>Sends counted by <see cref="Add"/> that never reached the child (the call or answer carrying them was not sent).</summary>
    public void Unsend(ObjectSpec[] specs)
    {
        if (specs.Length == 0)
        {
            return;
        }

        lock (_byId)
        {
            foreach (ObjectSpec spec in specs)
            {
                Forget(spec.Export, 1);
            }
        }
    }

    // Under the lock: count sends done with; an export no send of which the child holds is forgotten.
    private void Forget(long id, long count)
    {
        if (_byId.TryGetValue(id, out Export? export))
        {
            export.Sent -= count;
            if (export.Sent <= 0 && !export.Permanent)
            {
                _byId.Remove(id);
                _byReference.Remove(export.Reference); // nothing here keeps the object now: unreferenced, it is released
            }
        }
    }

    /// <summary>
    /// On the pipe's reader: a call from the child. Made here, synchronously, so calls reach the object in the order the
    /// child sent them (the call itself only queues: an object's call runs on its isolate's thread, a host service's on
    /// the thread pool); the answer is sent when it completes.
    /// </summary>
    public void OnCall(long id, byte[] body)
    {
        if (_running.ContainsKey(id))
        {
            // A second call under the id of one still running (a garbled pipe): any answer to it would complete the
            // running call in the child, and dropping that call's token would leave it uncancellable. Ignored.
            return;
        }

        Task call;
        ObjectStub stub;
        CancellationTokenSource cancel;
        SentObject[]? unreceived = null;
        try
        {
            ObjectCallHeader header = ObjectCallHeader.Read(body, out ReadOnlyMemory<byte> payload);
            unreceived = header.Attachments;
            ObjectReference reference = Find(header.Export);
            stub = ObjectStub.For(header.Assembly, header.Token, reference.InterfaceName);
            object[]? attachments = Receive(header.Attachments);
            unreceived = null; // received: from here on, the references' finalizers report the drops
            object?[] arguments = stub.Decode(payload, attachments);
            cancel = new CancellationTokenSource();
            _running[id] = cancel; // only the pipe's reader adds, and the id is not running (checked above)
            call = stub.Invoke(reference, arguments, cancel.Token);
        }
        catch (Exception ex)
        {
            if (_running.TryRemove(id, out CancellationTokenSource? added))
            {
                added.Dispose();
            }

            if (unreceived is not null)
            {
                Discard(unreceived); // refused before its proxies were taken in: the child must not keep them for us
            }

            Answer(id, FrameType.ObjectError, RemoteError.Encode(ex is IsolateException ? ex : ExceptionTransfer.ToCaller(ex, 0, Proxies.HostCall.HostName), 0, Proxies.HostCall.HostName));
            return;
        }

        _ = call.ContinueWith(static (done, state) =>
        {
            var (self, callId, target) = ((HostObjects, long, ObjectStub))state!;
            self.Answered(callId, target, done);
        }, (this, id, stub), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>The child's caller cancelled (or its isolate closed): the call's token fires.</summary>
    public void OnCancel(long id)
    {
        if (_running.TryGetValue(id, out CancellationTokenSource? cancel))
        {
            try
            {
                cancel.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // answered meanwhile
            }
        }
    }

    /// <summary>Isolate.ReleaseAsync in the child: releases the object here, as the host's own release would.</summary>
    public void OnRelease(long id, byte[] body)
    {
        Task released;
        try
        {
            ObjectReference reference = Find(body.Length == 8 ? BinaryPrimitives.ReadInt64LittleEndian(body) : -1);
            released = Isolate.ReleaseReferenceAsync(reference);
        }
        catch (Exception ex)
        {
            released = Task.FromException(ex);
        }

        _ = released.ContinueWith(static (done, state) =>
        {
            var (self, callId) = ((HostObjects, long))state!;
            if (done.IsCompletedSuccessfully)
            {
                self.Answer(callId, FrameType.ObjectResult, ResultBody([], []));
            }
            else
            {
                self.Answer(callId, FrameType.ObjectError, RemoteError.Encode(done.Exception!.InnerException!, 0, Proxies.HostCall.HostName));
            }
        }, (this, id), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>The child has ended: its calls still running are cancelled, and nothing it was sent is kept for it.</summary>
    public void End()
    {
        lock (_byId)
        {
            _ended = true;
            _byId.Clear();
            _byReference.Clear();
        }

        lock (_imports)
        {
            _imports.Clear(); // the child's objects went with it
        }

        foreach (long id in _running.Keys)
        {
            OnCancel(id);
        }
    }

    private ObjectReference Find(long export)
    {
        lock (_byId)
        {
            return _byId.TryGetValue(export, out Export? found)
                ? found.Reference
                : throw new IsolateSerializationException($"The child-process isolate called object export {export}, which it had dropped or was never sent: the pipe is corrupted.");
        }
    }

    private void Answered(long id, ObjectStub stub, Task done)
    {
        if (_running.TryRemove(id, out CancellationTokenSource? cancel))
        {
            cancel.Dispose();
        }

        if (!done.IsCompletedSuccessfully)
        {
            Exception error = done.IsCanceled ? new OperationCanceledException() : done.Exception!.InnerExceptions.Count == 1 ? done.Exception.InnerException! : done.Exception;
            Answer(id, FrameType.ObjectError, RemoteError.Encode(error, 0, Proxies.HostCall.HostName));
            return;
        }

        byte[] body;
        try
        {
            body = stub.ResultCodec is null ? ResultBody([], []) : EncodeResult(stub.ResultCodec, stub.ResultOf(done), stub.Name);
        }
        catch (Exception ex)
        {
            Answer(id, FrameType.ObjectError, RemoteError.Encode(ex is IsolateException ? ex : ExceptionTransfer.ToCaller(ex, 0, Proxies.HostCall.HostName), 0, Proxies.HostCall.HostName));
            return;
        }

        Answer(id, FrameType.ObjectResult, body);
    }

    private byte[] EncodeResult(Codec codec, object? result, string what)
    {
        byte[] payload = Payload.Encode([codec], [result], out object[]? attachments);
        if (attachments is null)
        {
            return ResultBody([], payload);
        }

        // Every attachment checked before any is counted: a send counted for an answer that is not sent would keep its
        // object for the child's whole life.
        foreach (object attachment in attachments)
        {
            if (attachment is not ObjectReference)
            {
                Payload.Release(attachments);
                throw new NotShareableException(null, string.Empty,
                    $"The result of {what} holds a channel end or a shared buffer, which cannot cross to a child-process isolate in a proxy call's result; pass channel ends to the child as call arguments.");
            }
        }

        var specs = new ObjectSpec[attachments.Length];
        int counted = 0;
        try
        {
            for (; counted < attachments.Length; counted++)
            {
                specs[counted] = Add((ObjectReference)attachments[counted], counted);
            }
        }
        catch (Exception)
        {
            Unsend(specs[..counted]);
            throw;
        }

        return ResultBody(specs, payload);
    }

    private static byte[] ResultBody(ObjectSpec[] specs, ReadOnlySpan<byte> payload)
    {
        if (specs.Length == 0)
        {
            // Most answers carry no proxy: the specs are an empty array, one byte, so the body is built without a writer.
            var body = new byte[1 + payload.Length];
            body[0] = MessagePackCode.MinFixArray;
            payload.CopyTo(body.AsSpan(1));
            return body;
        }

        var buffer = new ArrayBufferWriter<byte>(16 + payload.Length);
        var writer = new MessagePackWriter(buffer);
        ObjectSpec.Write(ref writer, specs);
        writer.Flush();
        buffer.Write(payload);
        return buffer.WrittenSpan.ToArray();
    }

    private void Answer(long id, FrameType type, byte[] body) => _link.Pipe.TrySend(type, id, body);
}
