using System.Diagnostics;
using Isolates.Calls;
using Isolates.Dispatcher;
using Isolates.Errors;
using Isolates.Wire;

namespace Isolates.Processes;

/// <summary>
/// One call from the host, run in the child's isolate like an in-process call (on its thread, its token linked with
/// the isolate's closing token) and answered exactly once: a result, an error, or "closed" when the isolate stopped
/// first. A cancelled call is not answered as cancelled: the host completed it already and ignores late answers.
/// </summary>
internal sealed class WireCall : WorkItem, IInFlightCall
{
    private readonly ChildServer _server;
    private readonly long _id;
    private readonly byte[] _body;
    private CancellationTokenSource? _tokenSource;
    private WireTarget? _target;
    private Task? _pending;
    private int _answered;
    private int _cancelled;
    private bool _imported;

    public WireCall(ChildServer server, long id, byte[] body)
    {
        _server = server;
        _id = id;
        _body = body;
    }

    public override string Description => _target is { } target ? "a call of " + target.DisplayName : "a call from the host";

    /// <summary>On the reader thread: the host's caller cancelled.</summary>
    public void Cancel()
    {
        Interlocked.Exchange(ref _cancelled, 1); // a full fence: the store cannot pass the load below (BuildArguments mirrors it)
        if (Volatile.Read(ref _tokenSource) is { } source)
        {
            _server.Isolate.InProcess.Post(static s => CancelQuietly((CancellationTokenSource)s!), source);
        }
    }

    public override void Execute()
    {
        if (Volatile.Read(ref _cancelled) != 0)
        {
            DiscardObjects();
            Answer(FrameType.Error, RemoteError.Encode(new OperationCanceledException(), _server.Isolate.Id, _server.Isolate.Name));
            return;
        }

        Isolate isolate = _server.Isolate;
        CallHeader header = CallHeader.Decode(_body, out ReadOnlyMemory<byte> payload);
        object?[] arguments;
        try
        {
            _target = _server.TargetFor(header);
            arguments = BuildArguments(_target, payload, header);
        }
        catch (Exception ex)
        {
            if (!_imported)
            {
                _server.Objects.Discard(header.Objects);
            }

            Fail(ExceptionTransfer.ToCaller(ex, isolate.Id, isolate.Name));
            return;
        }

        Activity? previous = Activity.Current;
        Activity? activity = null;
        if (header.TraceParent is { } traceParent)
        {
            // The caller's trace continues here: user code's own spans and outgoing requests carry its trace id.
            activity = new Activity("isolate.call " + _target.DisplayName).SetParentId(traceParent).Start();
        }

        try
        {
            object? returned;
            try
            {
                returned = _target.Invoker.Invoke(_target.Instance, arguments.AsSpan());
            }
            catch (Exception ex)
            {
                FailFromIsolateCode(ex);
                return;
            }

            switch (_target.Shape)
            {
                case ResultShape.Value:
                    Succeed(returned);
                    break;
                case ResultShape.Void:
                    Succeed(null);
                    break;
                default:
                    AwaitResult(returned);
                    break;
            }
        }
        finally
        {
            activity?.Stop();
            Activity.Current = previous;
        }
    }

    private object?[] BuildArguments(WireTarget target, ReadOnlyMemory<byte> payload, CallHeader header)
    {
        var arguments = new object?[target.ArgumentCodecs.Length];
        if (target.EncodedCount > 0)
        {
            var codecs = new Codec[target.EncodedCount];
            var decoded = new object?[target.EncodedCount];
            int k = 0;
            foreach (Codec? codec in target.ArgumentCodecs)
            {
                if (codec is not null)
                {
                    codecs[k++] = codec;
                }
            }

            _imported = true; // a failure from here on leaves the imported proxies to their finalizers
            Payload.Decode(payload, codecs, decoded, _server.Objects.Attachments(header.Channels, header.Objects));
            k = 0;
            for (int i = 0; i < arguments.Length; i++)
            {
                arguments[i] = target.ArgumentCodecs[i] is null ? null : decoded[k++];
            }
        }

        for (int i = 0; i < arguments.Length; i++)
        {
            if (target.ArgumentCodecs[i] is null)
            {
                if (_tokenSource is null)
                {
                    // Published with a full fence before _cancelled is read below, so a Cancel racing it sees one or the other.
                    Interlocked.CompareExchange(ref _tokenSource, CancellationTokenSource.CreateLinkedTokenSource(_server.Isolate.ClosingToken), null);
                }

                arguments[i] = _tokenSource!.Token;
            }
        }

        if (Volatile.Read(ref _cancelled) != 0)
        {
            _tokenSource?.Cancel(); // cancelled while the arguments were built
        }

        return arguments;
    }

    private void AwaitResult(object? returned)
    {
        Task task;
        try
        {
            task = TargetPlan.AsTask(returned);
        }
        catch (Exception ex)
        {
            FailFromIsolateCode(ex);
            return;
        }

        if (task.IsCompleted)
        {
            OnTaskCompleted(task);
            return;
        }

        _pending = task;
        Engines.InProcessEngine engine = _server.Isolate.InProcess;
        engine.TrackInFlight(this); // a close fails it (and answers the host) instead of leaving it pending
        new ResumeOnIsolate(task, engine).UnsafeOnCompleted(() =>
        {
            engine.UntrackInFlight(this);
            if (Interlocked.Exchange(ref _pending, null) is { } completed)
            {
                OnTaskCompleted(completed);
            }
        });
    }

    private void OnTaskCompleted(Task task)
    {
        if (task.IsFaulted)
        {
            AggregateException aggregate = task.Exception!;
            FailFromIsolateCode(aggregate.InnerExceptions.Count == 1 ? aggregate.InnerExceptions[0] : aggregate);
        }
        else if (task.IsCanceled)
        {
            Answer(FrameType.Error, RemoteError.Encode(new OperationCanceledException(), _server.Isolate.Id, _server.Isolate.Name));
        }
        else
        {
            object? result = null;
            if (_target!.ResultCodec is not null)
            {
                try
                {
                    result = _target.ResultOf(task);
                }
                catch (Exception ex)
                {
                    FailFromIsolateCode(ex);
                    return;
                }
            }

            Succeed(result);
        }
    }

    private void Succeed(object? result)
    {
        byte[] bytes = [];
        FrameType type = FrameType.Result;
        if (_target!.ResultCodec is { } codec)
        {
            try
            {
                bytes = Payload.Encode([codec], [result], out object[]? attachments);
                if (attachments is not null)
                {
                    // Proxies of the host's objects going back: the host knows them by their export ids.
                    bytes = WithObjects(_server.Objects.Send(attachments, "The result of " + _target.DisplayName), bytes);
                    type = FrameType.ResultWithObjects;
                }
            }
            catch (Exception ex)
            {
                Fail(ExceptionTransfer.ToCaller(ex, _server.Isolate.Id, _server.Isolate.Name));
                return;
            }
        }

        Answer(type, bytes);
        GC.KeepAlive(result); // a proxy in it, collected before the answer was sent, would have its drop overtake it
    }

    private void FailFromIsolateCode(Exception exception)
    {
        if (exception is OutOfMemoryException && _server.Options.MemoryLimit > 0)
        {
            _server.OnMemoryLimit(exception);
            return;
        }

        if (exception is OperationCanceledException && (Volatile.Read(ref _cancelled) != 0 || _tokenSource?.IsCancellationRequested == true))
        {
            Answer(FrameType.Error, RemoteError.Encode(exception, _server.Isolate.Id, _server.Isolate.Name));
            return;
        }

        Fail(ExceptionTransfer.ToRemote(exception, _server.Isolate.Id, _server.Isolate.Name));
    }

    private void Fail(Exception exception) => Answer(FrameType.Error, RemoteError.Encode(exception, _server.Isolate.Id, _server.Isolate.Name));

    public override void Abandon(Exception reason)
    {
        DiscardObjects(); // never ran: the host's proxies it carried were never imported
        Fail(reason);
    }

    void IInFlightCall.Abandon(Exception reason) => Fail(reason);

    private void DiscardObjects()
    {
        try
        {
            CallHeader header = CallHeader.Decode(_body, out _);
            _server.Objects.Discard(header.Objects);
        }
        catch (Exception)
        {
            // an unreadable header carries nothing the host waits for
        }
    }

    private static byte[] WithObjects(SentObject[] sent, byte[] payload)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(16 + payload.Length);
        var writer = new MessagePack.MessagePackWriter(buffer);
        SentObject.Write(ref writer, sent);
        writer.Flush();
        System.Buffers.BuffersExtensions.Write(buffer, payload);
        return buffer.WrittenSpan.ToArray();
    }

    private void Answer(FrameType type, byte[] body)
    {
        if (Interlocked.Exchange(ref _answered, 1) != 0)
        {
            return;
        }

        Interlocked.Exchange(ref _tokenSource, null)?.Dispose();
        _server.Answer(_id, type, body);
    }

    private static void CancelQuietly(CancellationTokenSource source)
    {
        try
        {
            source.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // the call finished first
        }
    }
}
