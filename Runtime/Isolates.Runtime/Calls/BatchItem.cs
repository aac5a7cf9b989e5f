using Isolates.Dispatcher;
using Isolates.Engines;
using Isolates.Errors;
using Isolates.Wire;

namespace Isolates.Calls;

/// <summary>
/// A chunk of a parallel map: one work item that runs the function over several inputs on the isolate's thread,
/// so that the cost of crossing into the isolate is paid once per chunk, not once per item. Results are written
/// straight into the caller's result array; the first failing item stops the chunk and is reported by index.
/// </summary>
internal sealed class BatchItem<T, TResult> : WorkItem, IInFlightCall, IChunk
{
    private Pool.Chunk<T>? _chunk;

    private readonly IsolateEngine _engine;
    private InProcessEngine? _local; // the engine whose thread runs the chunk, once it is queued there
    private readonly CallPlan _plan;
    private readonly IReadOnlyList<T> _source;
    private readonly int _start;
    private readonly int _count;
    private readonly long _firstIndex;
    private readonly TResult[] _results;
    private readonly int _resultOffset;
    private readonly byte[]? _payload;
    private readonly CancellationToken _cancellation;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenRegistration _registration;
    private int _state; // 0 queued, 1 running, 2 stolen, 3 abandoned before it ran
    private long _executionTicks;

    public BatchItem(IsolateEngine engine, CallPlan plan, IReadOnlyList<T> source, int start, int count, long firstIndex, TResult[] results, int resultOffset, CancellationToken cancellation)
    {
        _engine = engine;
        _plan = plan;
        _source = source;
        _start = start;
        _count = count;
        _firstIndex = firstIndex;
        _results = results;
        _resultOffset = resultOffset;
        _cancellation = cancellation;
        if (plan.EncodedArgumentCount > 0 && !engine.SendsChunkItemsAsCalls)
        {
            _payload = EncodeInputs(); // a child's chunk sends each item as a call of its own (RunInChildAsync)
        }
    }

    public Task Task => _completion.Task;

    /// <summary>The map caller's trace context; set (before the chunk is queued) only while the Isolates source has a listener.</summary>
    public Diagnostics.TraceParent? Trace { get; set; }

    /// <summary>Whether another worker took this chunk before the isolate started it.</summary>
    public bool WasStolen => Volatile.Read(ref _state) == 2;

    /// <summary>The isolate the chunk was given to: only its own refusal means the chunk never started.</summary>
    public long IsolateId => _engine.Owner.Id;

    /// <summary>How long the chunk ran on the isolate's thread (Stopwatch ticks), for choosing chunk sizes.</summary>
    public long ExecutionTicks => Volatile.Read(ref _executionTicks);

    /// <summary>The chunk this batch runs, so a thief can run the same items elsewhere.</summary>
    public Pool.Chunk<T> Chunk => _chunk ??= new Pool.Chunk<T>(_source, _start, _count, _firstIndex);

    /// <summary>Takes the chunk away from its isolate if that isolate has not started it; the caller then runs it elsewhere.</summary>
    public bool TrySteal()
    {
        if (Interlocked.CompareExchange(ref _state, 2, 0) != 0)
        {
            return false;
        }

        _registration.Unregister();
        _completion.TrySetResult();
        return true;
    }

    public override string Description => $"a chunk of {_count} items of {_plan.DisplayName}";

    public void Enqueue()
    {
        if (_cancellation.CanBeCanceled)
        {
            _registration = _cancellation.UnsafeRegister(static s => ((BatchItem<T, TResult>)s!).Cancelled(), this);
        }

        if (_completion.Task.IsCompleted)
        {
            return;
        }

        _engine.Run(this);
    }

    void IChunk.QueueOn(InProcessEngine engine)
    {
        _local = engine;
        engine.Enqueue(this);
    }

    void IChunk.SendTo(ChildProcessEngine engine)
    {
        Volatile.Write(ref _state, 1); // sent at once: never stolen
        if (engine.Link is not { } link)
        {
            Fail(engine.Owner.ClosedReason("before the chunk was sent (its child process is not running)"));
            return;
        }

        _ = RunInChildAsync(link);
    }

    /// <summary>
    /// A chunk for a child-process isolate: every item is sent at once as a call (the child runs them in order on its
    /// isolate's thread, so the pipe is never idle between items), and the results are taken in order.
    /// </summary>
    private async Task RunInChildAsync(Processes.ChildLink child)
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();

        // The first failing item stops the chunk, as in-process: the items after it are cancelled (those not started in
        // the child never run), and their outcomes are observed so none is reported as unobserved.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(_cancellation);
        var calls = new Task<TResult>[_count];
        for (int i = 0; i < _count; i++)
        {
            calls[i] = child.CallAsync<Args1<T>, TResult>(_plan, new Args1<T>(_source[_start + i]), stop.Token);
        }

        for (int i = 0; i < _count; i++)
        {
            try
            {
                _results[_resultOffset + i] = await calls[i].ConfigureAwait(false);
            }
            catch (IsolateClosedException refused) when (refused.NotStarted && i == 0)
            {
                // The first item was never sent (the isolate was ending): the chunk never started if no later item
                // was sent either. They wait behind it in order (the queue bound, the link), so they are refused
                // too; not cancelled, since a cancelled call may or may not have reached the child.
                await ObserveRestAsync(calls).ConfigureAwait(false);
                Fail(calls.Skip(1).All(static call => call.Exception?.InnerException is IsolateClosedException { NotStarted: true })
                    ? refused
                    : Started(refused));
                return;
            }
            catch (Exception ex)
            {
                stop.Cancel();
                for (int rest = i + 1; rest < _count; rest++)
                {
                    _ = calls[rest].ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                }

                switch (ex)
                {
                    case OperationCanceledException when _cancellation.IsCancellationRequested:
                        Cancelled();
                        break;
                    case IsolateExecutionException remote:
                        remote.ItemIndex = _firstIndex + i;
                        Fail(remote);
                        break;
                    case IsolateClosedException { NotStarted: true } refused:
                        Fail(Started(refused)); // the items before it were sent: the chunk had started
                        break;
                    default:
                        Fail(ex);
                        break;
                }

                return;
            }
        }

        Volatile.Write(ref _executionTicks, System.Diagnostics.Stopwatch.GetTimestamp() - started);
        _registration.Unregister();
        _completion.TrySetResult();
    }

    /// <summary>Waits for the calls after the first to complete, whatever their outcome.</summary>
    private static async Task ObserveRestAsync(Task<TResult>[] calls)
    {
        for (int rest = 1; rest < calls.Length; rest++)
        {
            try
            {
                await calls[rest].ConfigureAwait(false);
            }
            catch (Exception)
            {
                // looked at by the caller
            }
        }
    }

    /// <summary>The same refusal, for a chunk some of whose items may have run: it must not be run again elsewhere.</summary>
    private static IsolateClosedException Started(IsolateClosedException refused) =>
        new(refused.IsolateId, refused.IsolateName, refused.Message, refused.InnerException);

    public override void Execute()
    {
        if (_completion.Task.IsCompleted || Interlocked.CompareExchange(ref _state, 1, 0) != 0)
        {
            return; // cancelled or stolen while queued
        }

        TargetPlan target;
        object?[]? decoded = null;
        try
        {
            target = _local!.GetTarget(_plan);
            if (_payload is not null)
            {
                var codecs = new Codec[_count];
                Array.Fill(codecs, target.ArgumentCodecs[0]!);
                decoded = new object?[_count];
                Payload.Decode(_payload, codecs, decoded);
            }
        }
        catch (Exception ex)
        {
            Fail(ExceptionTransfer.ToCaller(ex, _engine.Owner.Id, _engine.Owner.Name));
            return;
        }

        _ = RunGuardedAsync(target, decoded);
    }

    private async Task RunGuardedAsync(TargetPlan target, object?[]? decoded)
    {
        // Current for the chunk's items only: this async method gives the isolate's thread its own activity back.
        System.Diagnostics.Activity? activity = Trace is { } trace ? Diagnostics.Tracing.StartChunk(trace, _engine.Owner, _plan, _count) : null;
        try
        {
            await RunAsync(target, decoded).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Fail(ExceptionTransfer.ToCaller(ex, _engine.Owner.Id, _engine.Owner.Name)); // the chunk must end, whatever broke
        }
        finally
        {
            if (activity is not null)
            {
                Diagnostics.Tracing.EndCall(activity, _completion.Task);
            }
        }
    }

    public override void Abandon(Exception reason)
    {
        // A queued chunk that its closing isolate refuses is failed here, and must not be stolen afterwards: the
        // thief would deliver items that this failure reports as not done. (A running one is failed as in flight.)
        Interlocked.CompareExchange(ref _state, 3, 0);
        _completion.TrySetException(reason);
        _registration.Unregister();
    }

    void IInFlightCall.Abandon(Exception reason) => Abandon(reason);

    private async Task RunAsync(TargetPlan target, object?[]? decoded)
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        bool tracked = false;
        for (int i = 0; i < _count; i++)
        {
            if (_cancellation.IsCancellationRequested)
            {
                Cancelled();
                break;
            }

            if (target.Direct is Func<T, TResult> directFunction && _plan.Shape == ResultShape.Value)
            {
                // The common hot path (shared framework types, synchronous function): no boxing, no encoding.
                try
                {
                    _results[_resultOffset + i] = directFunction(_source[_start + i]);
                    continue;
                }
                catch (Exception ex)
                {
                    FailItem(ex, i);
                    break;
                }
            }

            object? returned;
            try
            {
                returned = target.Direct is not null
                    ? InvokeDirect(target.Direct, _source[_start + i])
                    : target.Invoker!.Invoke(target.Target, decoded is null ? _source[_start + i] : decoded[i]);

                if (_plan.Shape is ResultShape.TaskOfT or ResultShape.ValueTaskOfT)
                {
                    Task task = TargetPlan.AsTask(returned);
                    if (!task.IsCompleted)
                    {
                        if (!tracked)
                        {
                            _local!.TrackInFlight(this);
                            tracked = true;
                        }

                        await new ResumeOnIsolate(task, _local!); // back on the isolate's thread
                    }

                    returned = task is Task<TResult> typed && _plan.ResultCodec is null ? typed.Result : target.ResultOf(task);
                }
            }
            catch (Exception ex)
            {
                FailItem(ex, i);
                break;
            }

            try
            {
                _results[_resultOffset + i] = _plan.ResultCodec is null
                    ? (TResult)returned!
                    : (TResult)Payload.Decode(Payload.Encode(target.ResultCodec!, returned), _plan.ResultCodec)!;
            }
            catch (Exception ex)
            {
                Fail(ex is IsolateException ? ExceptionTransfer.ToCaller(ex, _engine.Owner.Id, _engine.Owner.Name)
                    : new IsolateSerializationException($"Rebuilding the result of item {_firstIndex + i} failed: {ex.GetType().Name}: {ex.Message}", ex));
                break;
            }
        }

        if (tracked)
        {
            _local!.UntrackInFlight(this);
        }

        Volatile.Write(ref _executionTicks, System.Diagnostics.Stopwatch.GetTimestamp() - started);
        _registration.Unregister();
        _completion.TrySetResult();
    }

    /// <summary>Ends the chunk because item <paramref name="i"/> threw: cancelled if that was the cancellation, else reported by index.</summary>
    private void FailItem(Exception exception, int i)
    {
        if (exception is OperationCanceledException && _cancellation.IsCancellationRequested)
        {
            Cancelled();
            return;
        }

        IsolateExecutionException remote = ExceptionTransfer.ToRemote(exception, _engine.Owner.Id, _engine.Owner.Name);
        remote.ItemIndex = _firstIndex + i;
        Fail(remote);
    }

    private object? InvokeDirect(Delegate direct, T input) => _plan.Shape switch
    {
        ResultShape.Value => ((Func<T, TResult>)direct)(input),
        ResultShape.TaskOfT => ((Func<T, Task<TResult>>)direct)(input),
        _ => ((Func<T, ValueTask<TResult>>)direct)(input),
    };

    private byte[] EncodeInputs()
    {
        var codecs = new Codec[_count];
        Array.Fill(codecs, _plan.ArgumentCodecs[0]!);
        var values = new object?[_count];
        for (int i = 0; i < _count; i++)
        {
            values[i] = _source[_start + i];
        }

        return Payload.Encode(codecs, values);
    }

    private void Fail(Exception exception)
    {
        _registration.Unregister();
        _completion.TrySetException(exception);
    }

    private void Cancelled() => _completion.TrySetCanceled(_cancellation);
}
