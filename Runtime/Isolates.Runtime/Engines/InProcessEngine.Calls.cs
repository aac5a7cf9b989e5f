using Isolates.Calls;
using Isolates.Diagnostics;
using Isolates.Wire;

namespace Isolates.Engines;

/// <summary>Calls and chunks into the isolate's queue, and the async calls and channel writers it keeps track of.</summary>
internal sealed partial class InProcessEngine
{
    private readonly HashSet<IInFlightCall> _inFlight = []; // also the lock for itself
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<Channels.ChannelCore, object?> _heldWriters = []; // weak: channels that die are forgotten

    /// <inheritdoc />
    protected override Task<TResult> Send<TArgs, TResult>(CallPlan plan, TArgs args, Func<Delegate, TArgs, object?> direct, CancellationToken cancellationToken) =>
        Queue<TArgs, TResult>(plan, args, direct, cancellationToken);

    /// <summary>Queues one call on the isolate's thread (the hot path: <see cref="IsolateEngine.Call{TArgs, TResult}"/> calls it directly).</summary>
    public Task<TResult> Queue<TArgs, TResult>(CallPlan plan, TArgs args, Func<Delegate, TArgs, object?> direct, CancellationToken cancellationToken)
        where TArgs : struct, IArgs
    {
        byte[]? payload = null;
        object[]? attachments = null;
        if (plan.EncodedArgumentCount > 0)
        {
            try
            {
                payload = EncodeArguments(plan, args, out attachments);
            }
            catch (Exception ex)
            {
                // Refused before anything was sent: not shareable, or the caller's own getters threw while encoding.
                return Task.FromException<TResult>(ex);
            }
        }

        InProcessEngine? callingThread = t_current;
        Isolate? callingIsolate = CallingIsolate(callingThread, out Loader.IsolateLoadContext? retired);
        if (retired is not null)
        {
            return Task.FromException<TResult>(CallerClosed(retired, plan));
        }

        var item = new CallItem<TArgs, TResult>(this, plan, args, payload, attachments, direct, cancellationToken) { FromOwnThread = callingThread == this };
        item.Telemetry = CallTelemetry.Begin(Owner); // null unless someone listens to the Isolates meter or activity source
        if (!item.RegisterCancellation(callingIsolate))
        {
            return item.Task; // a token was cancelled already
        }

        if (Owner.CallGate is { } gate)
        {
            item.WaitAt(gate); // before it can be in the line, so a cancellation always knows where to look
            if (!gate.TryEnter(item))
            {
                return item.Task; // MaxQueuedCalls reached: it waits in line and is queued when a place comes free
            }

            item.WaitAt(null);
            item.HoldPlace(gate);
        }

        _queue.Enqueue(item); // the place is given back when the call starts, or when the queue abandons it
        return item.Task;
    }

    /// <summary>
    /// Another isolate that makes a call (its thread, or its code on the thread pool, which carries its contextual
    /// reflection scope), or null: the host, or this isolate itself, whose closing fails its own calls anyway. The
    /// call ends when that isolate closes, so the call cannot keep the closed isolate's context loaded. For the host
    /// this is one thread-static and one execution-context read, and no registration.
    /// </summary>
    /// <remarks>
    /// <paramref name="retired"/> is set when the code making the call belongs to an isolate that has stopped and let go
    /// of its context (its code still running on the pool): its call fails at once, as a call made while it closed does.
    /// </remarks>
    private Isolate? CallingIsolate(InProcessEngine? callingThread, out Loader.IsolateLoadContext? retired)
    {
        retired = null;
        Isolate? caller;
        if (callingThread is not null)
        {
            caller = callingThread.Owner;
        }
        else if (System.Runtime.Loader.AssemblyLoadContext.CurrentContextualReflectionContext is not Loader.IsolateLoadContext context)
        {
            return null; // the host
        }
        else if ((caller = context.Owner) is null && context.Retired is not null)
        {
            retired = context;
            return null;
        }

        return caller == Owner ? null : caller;
    }

    private IsolateClosedException CallerClosed(Loader.IsolateLoadContext retired, CallPlan plan)
    {
        (long id, string name) = retired.Retired!.Value;
        return new IsolateClosedException(id, name,
            $"Isolate '{name}' ({id}) has closed, so its code still running (on the thread pool) cannot call {plan.DisplayName} in isolate '{Owner.Name}' ({Owner.Id}): " +
            "a closed isolate makes no calls. Code started by an isolate should stop when Isolate.Current.ClosingToken is cancelled.");
    }

    /// <inheritdoc />
    public override void Run(IChunk chunk) => chunk.QueueOn(this);

    /// <summary>Remembers a channel whose writer this isolate holds; if the isolate faults, the channel is failed.</summary>
    public void HoldWriter(Channels.ChannelCore core) => _heldWriters.AddOrUpdate(core, null);

    /// <summary>Records an async call that is waiting inside the isolate, so closing can fail it instead of leaving it pending.</summary>
    public void TrackInFlight(IInFlightCall call)
    {
        Interleave.Point("isolate.track");
        bool stopped;
        lock (_inFlight)
        {
            stopped = Owner.StopRequested;
            if (!stopped)
            {
                _inFlight.Add(call);
            }
        }

        if (stopped)
        {
            call.Abandon(Owner.ClosedReason("before it finished", started: true));
        }
    }

    public void UntrackInFlight(IInFlightCall call)
    {
        lock (_inFlight)
        {
            _inFlight.Remove(call);
        }
    }

    /// <summary>The called method as found in this isolate's context (on its thread: the cache is the context's own).</summary>
    public TargetPlan GetTarget(CallPlan plan)
    {
        Dictionary<long, TargetPlan> targets = _context!.Cache.Targets;
        if (!targets.TryGetValue(plan.Id, out TargetPlan? target))
        {
            target = TargetPlan.Create(plan, _context);
            targets.Add(plan.Id, target);
        }

        return target;
    }

    private static byte[] EncodeArguments<TArgs>(CallPlan plan, TArgs args, out object[]? attachments)
        where TArgs : struct, IArgs
    {
        var codecs = new Codec[plan.EncodedArgumentCount];
        var values = new object?[plan.EncodedArgumentCount];
        int k = 0;
        for (int i = 0; i < plan.ArgumentCodecs.Length; i++)
        {
            if (plan.ArgumentCodecs[i] is { } codec)
            {
                codecs[k] = codec;
                values[k++] = args.Get(i);
            }
        }

        return Payload.Encode(codecs, values, out attachments);
    }
}
