using System.Buffers;
using System.Threading.Channels;
using Isolates.Channels;

namespace Isolates.Processes;

/// <summary>The child's side of a channel end its host passed in a call: a local buffer wired to the pipe.</summary>
internal interface IChildBridge
{
    /// <summary>On the pipe's reader thread: items from the host's channel.</summary>
    void OnItems(byte[] body);

    /// <summary>On the pipe's reader thread: the host's channel was completed.</summary>
    void OnDone(byte[] body);

    /// <summary>On the pipe's reader thread: the host put that many more items into its channel.</summary>
    void OnCredit(int count);

    /// <summary>Sends any acknowledgement still held back (the isolate is ending).</summary>
    void Flush();
}

/// <summary>Builds the child's channel core for a bridged end: the ends its code gets are the runtime's ordinary ends over it.</summary>
internal static class ChildBridge
{
    public static ChannelCore Open(ChildServer server, ChannelSpec spec)
    {
        ChannelCore core;
        if (spec.DirectType is { } directType)
        {
            Type element = Type.GetType(directType, throwOnError: true)!;
            core = (ChannelCore)typeof(ChildBridge).GetMethod(nameof(OpenDirect), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
                .MakeGenericMethod(element).Invoke(null, [server, spec])!;
        }
        else
        {
            core = new ChannelCore.Encoded(spec.ElementTypeName, spec.ChildWrites
                ? new ChildOutbox<Message>(server, spec, MessageItems.Instance)
                : new ChildInbox<Message>(server, spec, MessageItems.Instance));
        }

        core.SurvivesWriterFaults = spec.SurvivesWriterFaults;
        core.Capacity = spec.Window;
        return core;
    }

    private static ChannelCore OpenDirect<TElement>(ChildServer server, ChannelSpec spec) =>
        new ChannelCore.Direct<TElement>(spec.ChildWrites
            ? new ChildOutbox<TElement>(server, spec, DirectItems<TElement>.Instance)
            : new ChildInbox<TElement>(server, spec, DirectItems<TElement>.Instance));

    public static Exception? DecodeError(ChildServer server, byte[] body) =>
        body.Length == 0 ? null : RemoteError.Decode(body, server.Isolate.Id, server.Isolate.Name) ?? new OperationCanceledException();
}

/// <summary>
/// A host channel the child's code reads. Nothing is asked of the host until the code first touches its reader; then
/// the window is granted, and every item the code takes is acknowledged (in batches of half the window, or at once
/// when the local buffer runs dry), which gives the host credit for one more. The local buffer therefore never holds
/// more than the window, and the host knows which items the code had not taken if the child dies.
/// </summary>
internal sealed class ChildInbox<TBuffered> : Channel<TBuffered>, IChildBridge
{
    private readonly ChildServer _server;
    private readonly ChannelSpec _spec;
    private readonly BridgeItems<TBuffered> _items;
    private readonly Channel<TBuffered> _buffer = Channel.CreateUnbounded<TBuffered>(new UnboundedChannelOptions { AllowSynchronousContinuations = false });
    private int _started;
    private int _unacknowledged;

    public ChildInbox(ChildServer server, ChannelSpec spec, BridgeItems<TBuffered> items)
    {
        _server = server;
        _spec = spec;
        _items = items;
        Reader = new InboxReader(this);
        Writer = _buffer.Writer; // only the bridge writes: the child's code gets a reader
        server.AddBridge(spec.Bridge, this);
    }

    public void OnItems(byte[] body)
    {
        int position = 0;
        while (position < body.Length)
        {
            bool written = _buffer.Writer.TryWrite(_items.Read(BridgeItems<TBuffered>.Next(body, ref position)));
            System.Diagnostics.Debug.Assert(written, "the host sends no item after completing the channel");
        }
    }

    public void OnDone(byte[] body)
    {
        _buffer.Writer.TryComplete(ChildBridge.DecodeError(_server, body));
        RetireIfDrained();
    }

    /// <summary>
    /// The host sends nothing after Done; once the code has also taken every item (and its acknowledgement went out), the
    /// server forgets the bridge. Before that, a close must still flush the acknowledgements, so it stays listed.
    /// </summary>
    private void RetireIfDrained()
    {
        if (_buffer.Reader.Completion.IsCompleted && Volatile.Read(ref _unacknowledged) == 0)
        {
            _server.ForgetBridge(_spec.Bridge, this);
        }
    }

    public void OnCredit(int count) => System.Diagnostics.Debug.Fail("the child gives credit for a channel it reads; it gets none");

    public void Flush()
    {
        int count = Interlocked.Exchange(ref _unacknowledged, 0);
        if (count > 0)
        {
            _server.Pipe.TrySend(FrameType.ChannelCredit, _spec.Bridge, HostBridge.EncodeCount(count));
        }
    }

    private void Start()
    {
        if (Volatile.Read(ref _started) == 0 && Interlocked.Exchange(ref _started, 1) == 0)
        {
            _server.Pipe.TrySend(FrameType.ChannelCredit, _spec.Bridge, HostBridge.EncodeCount(_spec.Window));
        }
    }

    private void Taken()
    {
        if (Interlocked.Increment(ref _unacknowledged) >= Math.Max(1, _spec.Window / 2) || _buffer.Reader.Count == 0)
        {
            Flush();
            RetireIfDrained();
        }
    }

    private sealed class InboxReader(ChildInbox<TBuffered> owner) : ChannelReader<TBuffered>
    {
        private readonly ChannelReader<TBuffered> _buffer = owner._buffer.Reader;

        public override Task Completion
        {
            get
            {
                owner.Start(); // the host sends its completion only to a reader that asked for items
                return _buffer.Completion;
            }
        }

        public override bool CanCount => true;

        public override int Count => _buffer.Count;

        public override bool CanPeek => true;

        public override bool TryPeek(out TBuffered item) => _buffer.TryPeek(out item!);

        public override bool TryRead(out TBuffered item)
        {
            owner.Start();
            if (_buffer.TryRead(out item!))
            {
                owner.Taken();
                return true;
            }

            return false;
        }

        public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default)
        {
            owner.Start();
            return _buffer.WaitToReadAsync(cancellationToken);
        }

        public override ValueTask<TBuffered> ReadAsync(CancellationToken cancellationToken = default)
        {
            owner.Start();
            return TryRead(out TBuffered item) ? new ValueTask<TBuffered>(item) : ReadSlowAsync(cancellationToken);
        }

        private async ValueTask<TBuffered> ReadSlowAsync(CancellationToken cancellationToken)
        {
            TBuffered item = await _buffer.ReadAsync(cancellationToken).ConfigureAwait(false);
            owner.Taken();
            return item;
        }
    }
}

/// <summary>
/// A host channel the child's code writes. A write takes one credit (the window at the start, then one for every item
/// the host put into its channel) and is sent on the pipe before it returns, so a write that completed is in the
/// pipe even if the child dies right after, and a writer with no credit waits, as on a full channel.
/// </summary>
internal sealed class ChildOutbox<TBuffered> : Channel<TBuffered>, IChildBridge
{
    private readonly ChildServer _server;
    private readonly ChannelSpec _spec;
    private readonly BridgeItems<TBuffered> _items;
    private readonly Lock _gate = new();
    private readonly ArrayBufferWriter<byte> _frame = new(256);
    private readonly List<Waiter> _waiters = [];
    private int _credit;
    private bool _completed;
    private Exception? _error;

    public ChildOutbox(ChildServer server, ChannelSpec spec, BridgeItems<TBuffered> items)
    {
        _server = server;
        _spec = spec;
        _items = items;
        _credit = spec.Window;
        Reader = Channel.CreateUnbounded<TBuffered>().Reader; // never read: the child's code gets a writer
        Writer = new OutboxWriter(this);
        server.AddBridge(spec.Bridge, this);
    }

    public void OnItems(byte[] body) => System.Diagnostics.Debug.Fail("the host sends no items to a channel the child writes");

    public void OnDone(byte[] body) =>
        Complete(ChildBridge.DecodeError(_server, body) ?? new ChannelClosedException("The host's channel was completed."), notifyHost: false);

    public void OnCredit(int count)
    {
        List<Waiter> woken;
        lock (_gate)
        {
            _credit += count;
            woken = [.. _waiters];
            _waiters.Clear();
        }

        foreach (Waiter waiter in woken)
        {
            waiter.Source.TrySetResult(true);
            waiter.Dispose();
        }
    }

    public void Flush()
    {
    }

    private bool TrySend(TBuffered item)
    {
        lock (_gate)
        {
            if (_completed || _credit == 0)
            {
                return false;
            }

            BridgeItems<TBuffered>.BeginFrame(_frame);
            _items.Append(item, _frame); // only the runtime's bytes: no user code runs under the lock
            if (BridgeItems<TBuffered>.Send(_server.Pipe, _spec.Bridge, _frame))
            {
                _credit--;
                return true;
            }
        }

        // The host is gone (this process ends next): the write fails, and so does every later one.
        Complete(new ChannelClosedException("The host process that owns this channel is gone."), notifyHost: false);
        return false;
    }

    private ValueTask<bool> WaitAsync(CancellationToken cancellationToken)
    {
        Waiter waiter;
        lock (_gate)
        {
            if (_completed)
            {
                return _error is null ? new ValueTask<bool>(false) : ValueTask.FromException<bool>(_error);
            }

            if (_credit > 0)
            {
                return new ValueTask<bool>(true);
            }

            if (cancellationToken.IsCancellationRequested)
            {
                return ValueTask.FromCanceled<bool>(cancellationToken);
            }

            waiter = new Waiter();
            _waiters.Add(waiter);
        }

        waiter.Watch(cancellationToken);
        return new ValueTask<bool>(waiter.Source.Task);
    }

    private bool Complete(Exception? error, bool notifyHost)
    {
        List<Waiter> woken;
        lock (_gate)
        {
            if (_completed)
            {
                return false;
            }

            _completed = true;
            _error = error;
            if (notifyHost)
            {
                // Under the lock, so no write that took its credit before can follow the completion on the pipe.
                _server.Pipe.TrySend(FrameType.ChannelDone, _spec.Bridge, error is null ? [] : RemoteError.Encode(error, _server.Isolate.Id, _server.Isolate.Name));
            }

            woken = [.. _waiters];
            _waiters.Clear();
        }

        _server.ForgetBridge(_spec.Bridge, this); // completed: later credits or a Done from the host change nothing

        foreach (Waiter waiter in woken)
        {
            if (error is null)
            {
                waiter.Source.TrySetResult(false);
            }
            else
            {
                waiter.Source.TrySetException(error);
            }

            waiter.Dispose();
        }

        return true;
    }

    private sealed class Waiter : IDisposable
    {
        private CancellationTokenRegistration _registration;

        public TaskCompletionSource<bool> Source { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Watch(CancellationToken cancellationToken)
        {
            if (cancellationToken.CanBeCanceled)
            {
                _registration = cancellationToken.UnsafeRegister(static (s, token) => ((TaskCompletionSource<bool>)s!).TrySetCanceled(token), Source);
            }
        }

        public void Dispose() => _registration.Dispose();
    }

    private sealed class OutboxWriter(ChildOutbox<TBuffered> owner) : ChannelWriter<TBuffered>
    {
        public override bool TryComplete(Exception? error = null) => owner.Complete(error, notifyHost: true);

        public override bool TryWrite(TBuffered item) => owner.TrySend(item);

        public override ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken = default) => owner.WaitAsync(cancellationToken);

        public override ValueTask WriteAsync(TBuffered item, CancellationToken cancellationToken = default) =>
            cancellationToken.IsCancellationRequested ? ValueTask.FromCanceled(cancellationToken)
            : owner.TrySend(item) ? default
            : WriteSlowAsync(item, cancellationToken);

        private async ValueTask WriteSlowAsync(TBuffered item, CancellationToken cancellationToken)
        {
            while (true)
            {
                bool open;
                try
                {
                    open = await owner.WaitAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    throw new ChannelClosedException(ex); // as the framework's WriteAsync on a channel completed with an error
                }

                if (!open)
                {
                    throw new ChannelClosedException();
                }

                if (owner.TrySend(item))
                {
                    return;
                }
            }
        }
    }
}
