using System.Buffers;
using System.Buffers.Binary;
using System.Threading.Channels;
using Isolates.Channels;

namespace Isolates.Processes;

/// <summary>
/// The host's side of a channel end passed to a child-process isolate. Items cross only against credit, so at most a
/// window of items is between the host's channel and the child's code in either direction, and each bridge can say at
/// the end what it could not deliver.
/// </summary>
internal interface IHostBridge
{
    /// <summary>The host channel's name (for reports).</summary>
    string ChannelName { get; }

    /// <summary>On the pipe's reader thread: items the child wrote.</summary>
    void OnItems(byte[] body);

    /// <summary>On the pipe's reader thread: the child completed its writer (or its reader's channel was completed).</summary>
    void OnDone(byte[] body);

    /// <summary>On the pipe's reader thread: the child took <paramref name="count"/> more items (the first credit is its window).</summary>
    void OnCredit(int count);

    /// <summary>The child is ending: take nothing more for it (a channel it reads).</summary>
    void StopTaking();

    /// <summary>
    /// The child has ended (the pipe was read to its end): stop taking items for it, or pass the last items on and complete
    /// the host's channel as <paramref name="writerLost"/> says (null: a clean close, the channel stays open as in-process).
    /// Returns what was lost: a sentence, or null.
    /// </summary>
    string? End(IsolateClosedException? writerLost);
}

/// <summary>Creates the host's bridge for one channel end passed to a child.</summary>
internal static class HostBridge
{
    /// <summary>The most items in flight between a host channel and the child's code, per bridge.</summary>
    public const int MaxWindow = 128;

    public static int WindowFor(ChannelCore core) => core.Capacity > 0 ? Math.Min(core.Capacity, MaxWindow) : MaxWindow;

    public static IHostBridge Create(ChildLink link, ChannelSpec spec, ChannelCore core)
    {
        if (core.DirectElementType is { } element)
        {
            return (IHostBridge)typeof(HostBridge).GetMethod(nameof(CreateDirect), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
                .MakeGenericMethod(element).Invoke(null, [link, spec, core])!;
        }

        var encoded = (ChannelCore.Encoded)core;
        return spec.ChildWrites
            ? new HostWriterBridge<Message>(link, spec, core, encoded.Buffer.Writer, MessageItems.Instance)
            : new HostReaderBridge<Message>(link, spec, core, encoded.Buffer.Reader, MessageItems.Instance);
    }

    private static IHostBridge CreateDirect<TElement>(ChildLink link, ChannelSpec spec, ChannelCore core) => spec.ChildWrites
        ? new HostWriterBridge<TElement>(link, spec, core, core.CreateWriter<TElement>(), DirectItems<TElement>.Instance)
        : new HostReaderBridge<TElement>(link, spec, core, core.CreateReader<TElement>(), DirectItems<TElement>.Instance);

    /// <summary>Starts a pump on the thread pool, never on the caller's thread (which may be an isolate's) and with no captured context.</summary>
    public static Task Start(Func<Task> pump)
    {
        using (ExecutionContext.SuppressFlow())
        {
            return Task.Run(pump);
        }
    }

    public static byte[] EncodeCount(int count)
    {
        var body = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(body, count);
        return body;
    }
}

/// <summary>
/// A host channel the child reads: items are taken from it only against the child's credit (its window, given when
/// its code first reads, then one credit per item its code took), in batches of up to the credit, and sent in order.
/// So the host channel keeps its own backpressure (the host's writer waits while the child reads slowly) and at most
/// the window is out of it. Items taken but never acknowledged are counted: that is what a dead child may have lost.
/// </summary>
internal sealed class HostReaderBridge<TBuffered> : IHostBridge
{
    private readonly ChildLink _link;
    private readonly ChannelSpec _spec;
    private readonly ChannelCore _core;
    private readonly ChannelReader<TBuffered> _source;
    private readonly BridgeItems<TBuffered> _items;
    private readonly SemaphoreSlim _creditArrived = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _pump;
    private long _credit;
    private long _granted;
    private long _taken;

    public HostReaderBridge(ChildLink link, ChannelSpec spec, ChannelCore core, ChannelReader<TBuffered> source, BridgeItems<TBuffered> items)
    {
        _link = link;
        _spec = spec;
        _core = core;
        _source = source;
        _items = items;
        _pump = HostBridge.Start(PumpAsync);
    }

    public string ChannelName => _core.Name;

    public void OnItems(byte[] body) => System.Diagnostics.Debug.Fail("a child does not send items to a channel it reads");

    public void OnDone(byte[] body) => System.Diagnostics.Debug.Fail("a child does not complete a channel it reads");

    public void OnCredit(int count)
    {
        if (count <= 0)
        {
            return;
        }

        Interlocked.Add(ref _granted, count);
        Interlocked.Add(ref _credit, count);
        _creditArrived.Release();
        RetireIfSettled();
    }

    private int _pumpDone;

    /// <summary>
    /// Once the host's channel completed (Done sent) and the child acknowledged every item taken for it, nothing can be
    /// lost or sent any more: the link forgets the bridge (a long-lived child given a channel per call must not keep them).
    /// </summary>
    private void RetireIfSettled()
    {
        long granted = Interlocked.Read(ref _granted);
        if (Volatile.Read(ref _pumpDone) != 0 && granted > 0 && granted - _spec.Window == Interlocked.Read(ref _taken))
        {
            _link.ForgetBridge(_spec.Bridge, this);
        }
    }

    private async Task PumpAsync()
    {
        CancellationToken stop = _stop.Token;
        var frame = new ArrayBufferWriter<byte>(1024);
        try
        {
            while (true)
            {
                while (Volatile.Read(ref _credit) <= 0)
                {
                    await _creditArrived.WaitAsync(stop).ConfigureAwait(false);
                }

                bool more;
                try
                {
                    more = await _source.WaitToReadAsync(stop).ConfigureAwait(false);
                }
                catch (Exception) when (_source.Completion.IsCompleted && !stop.IsCancellationRequested)
                {
                    more = false; // completed with an error: WaitToReadAsync throws it; the child's reader gets it from Done
                }

                if (!more)
                {
                    SendDone(_source.Completion.IsFaulted ? _source.Completion.Exception!.InnerException : null);
                    Volatile.Write(ref _pumpDone, 1);
                    RetireIfSettled();
                    return;
                }

                BridgeItems<TBuffered>.BeginFrame(frame);
                long credit = Volatile.Read(ref _credit);
                int count = 0;
                while (count < credit && frame.WrittenCount < 64 * 1024 && _source.TryRead(out TBuffered? item))
                {
                    Interlocked.Increment(ref _taken); // out of the host's channel: from now on, delivered or counted as lost
                    try
                    {
                        _items.Append(item, frame);
                    }
                    catch (Exception ex)
                    {
                        // An item that cannot leave the process: it is counted as lost, and the child's reader fails with why.
                        if (count > 0)
                        {
                            _ = BridgeItems<TBuffered>.Send(_link.Pipe, _spec.Bridge, frame);
                        }

                        SendDone(ex);
                        return;
                    }

                    count++;
                }

                if (count == 0)
                {
                    continue; // another reader took it first
                }

                Interlocked.Add(ref _credit, -count);
                if (!BridgeItems<TBuffered>.Send(_link.Pipe, _spec.Bridge, frame))
                {
                    return; // the child is gone: these items stay counted as taken and not acknowledged
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // the child ended; nothing was taken by the cancelled wait
        }
    }

    private void SendDone(Exception? error) =>
        _link.Pipe.TrySend(FrameType.ChannelDone, _spec.Bridge, error is null ? [] : RemoteError.Encode(error, _link.IsolateId, _link.IsolateName));

    public void StopTaking() => _stop.Cancel();

    public string? End(IsolateClosedException? writerLost)
    {
        _stop.Cancel();
        try
        {
            // The pump only waits on the token, on the pipe or on nothing: it stops at once.
            _pump.Wait(TimeSpan.FromSeconds(10));
        }
        catch (AggregateException)
        {
            // it failed: the counts below are still right, as they are kept before anything is sent
        }

        long granted = Interlocked.Read(ref _granted);
        long acknowledged = granted == 0 ? 0 : granted - _spec.Window;
        long lost = Interlocked.Read(ref _taken) - acknowledged;
        return lost <= 0 ? null
            : $"{lost} item{(lost == 1 ? " was" : "s were")} taken from channel '{ChannelName}' for the child and not acknowledged as read by its code (at most {_spec.Window} can be, the bridge's window)";
    }
}

/// <summary>
/// A host channel the child writes: the child sends an item only against credit (its window at the start, then one
/// credit per item this side put into the host channel), so its writer waits while the host channel is full. The
/// child's write completes once the item is on the pipe; the pipe delivers what was sent before the child died, and
/// the host reads it to the end, so every item whose write completed in the child is put into the host channel,
/// in order, before the channel is completed (unless the host channel was completed by someone else first: such
/// items are counted and logged).
/// </summary>
internal sealed class HostWriterBridge<TBuffered> : IHostBridge
{
    private readonly ChildLink _link;
    private readonly ChannelSpec _spec;
    private readonly ChannelCore _core;
    private readonly ChannelWriter<TBuffered> _target;
    private readonly BridgeItems<TBuffered> _items;
    private readonly Channel<Inbound> _inbound = Channel.CreateUnbounded<Inbound>(); // not single-reader: that one cannot Count

    public HostWriterBridge(ChildLink link, ChannelSpec spec, ChannelCore core, ChannelWriter<TBuffered> target, BridgeItems<TBuffered> items)
    {
        _link = link;
        _spec = spec;
        _core = core;
        _target = target;
        _items = items;
        _ = HostBridge.Start(PumpAsync);
    }

    public string ChannelName => _core.Name;

    public void OnItems(byte[] body) => _inbound.Writer.TryWrite(new Inbound(body, Done: false, null));

    public void OnDone(byte[] body)
    {
        Exception? error = body.Length == 0 ? null : RemoteError.Decode(body, _link.IsolateId, _link.IsolateName) ?? new OperationCanceledException();
        _inbound.Writer.TryWrite(new Inbound(null, Done: true, error));
        _inbound.Writer.TryComplete();
    }

    public void OnCredit(int count) => System.Diagnostics.Debug.Fail("the host gives credit for a channel the child writes; it does not get any");

    public void StopTaking()
    {
        // Items the child already sent are still put into the host channel: its writes completed.
    }

    public string? End(IsolateClosedException? writerLost)
    {
        // After every item the child sent (the reader thread queued them first). A clean close leaves the channel open.
        if (writerLost is not null && !_core.SurvivesWriterFaults)
        {
            _inbound.Writer.TryWrite(new Inbound(null, Done: true, writerLost));
        }

        _inbound.Writer.TryComplete();
        return null; // what the pump cannot deliver it logs itself, once it knows
    }

    private async Task PumpAsync()
    {
        int unacknowledged = 0;
        long dropped = 0;
        bool closed = false; // the host channel was completed by someone else
        ChannelReader<Inbound> inbound = _inbound.Reader;
        try
        {
            await PumpItemsAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Bytes that do not decode: the pipe is corrupted; the host channel must not wait for items that will not come.
            _target.TryComplete(ex);
            _link.ReportLost($"the bridge of channel '{ChannelName}' from the child failed: {ex.Message}");
        }

        if (dropped > 0)
        {
            _link.ReportLost($"{dropped} item{(dropped == 1 ? "" : "s")} written by the child to channel '{ChannelName}' could not be put into it (it had been completed)");
        }

        _link.ForgetBridge(_spec.Bridge, this); // the child's writer is done (or the child ended): no frame for it can come

        async Task PumpItemsAsync()
        {
            while (await inbound.WaitToReadAsync().ConfigureAwait(false))
            {
                while (inbound.TryRead(out Inbound next))
                {
                    if (next.Done)
                    {
                        if (!closed)
                        {
                            _target.TryComplete(next.Error);
                        }

                        continue;
                    }

                    byte[] body = next.Body!;
                    int position = 0;
                    while (position < body.Length)
                    {
                        TBuffered item = _items.Read(BridgeItems<TBuffered>.Next(body, ref position));
                        if (closed)
                        {
                            dropped++;
                            continue;
                        }

                        try
                        {
                            if (!_target.TryWrite(item))
                            {
                                await _target.WriteAsync(item).ConfigureAwait(false);
                            }

                            unacknowledged++;
                        }
                        catch (ChannelClosedException)
                        {
                            // Completed by another writer or the host: the child's writer is completed too, so its next write fails.
                            closed = true;
                            dropped++;
                            _link.Pipe.TrySend(FrameType.ChannelDone, _spec.Bridge, RemoteError.Encode(new ChannelClosedException($"The host's channel '{ChannelName}' was completed."), _link.IsolateId, _link.IsolateName));
                        }
                    }

                    if (!closed && unacknowledged > 0 && (unacknowledged >= Math.Max(1, _spec.Window / 2) || inbound.Count == 0))
                    {
                        _link.Pipe.TrySend(FrameType.ChannelCredit, _spec.Bridge, HostBridge.EncodeCount(unacknowledged));
                        unacknowledged = 0;
                    }
                }
            }
        }
    }

    private readonly record struct Inbound(byte[]? Body, bool Done, Exception? Error);
}
