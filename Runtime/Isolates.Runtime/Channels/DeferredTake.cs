using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks.Sources;
using Isolates.Diagnostics;

namespace Isolates.Channels;

/// <summary>
/// A take from channels (<c>ReadAsync</c>, a <c>ReadAllAsync</c> step, <c>SelectAsync</c>) by isolate code that found
/// nothing and must wait. The item is taken only where the awaiting code continues, in the same step: when that code
/// awaits on the isolate's context, the take is posted there and the continuation runs inline right after it; when it
/// awaits without a context (<c>AsTask().Result</c>, <c>ConfigureAwait(false)</c>), the item is taken on the thread
/// that saw it arrive and the continuation runs there.
/// </summary>
/// <remarks>
/// Why: a channel's own <c>ReadAsync</c> takes the item on the writer's or a thread-pool thread and then posts the
/// continuation that receives it. If the isolate closed or faulted in between, its queue dropped that continuation and
/// the item was gone, although its writer had been told it was accepted (issue 11: 71 of 100 closes lost one). Posting
/// the take instead means a dropped post leaves the item in the channel for the next reader. Taking on the isolate's
/// thread alone (an <c>async</c> method resuming there) would deadlock code that blocks on the read, which the channels
/// have always allowed, so the place of the take follows how the result is awaited. Single use; not pooled.
/// </remarks>
/// <typeparam name="TResult">What the awaiting code receives.</typeparam>
internal abstract class DeferredTake<TResult> : IValueTaskSource<TResult>
{
    private readonly Lock _sync = new();
    private readonly Action _onWaitCompleted;
    private ValueTask<bool> _wait;
    private Action<object?>? _continuation;
    private object? _continuationState;
    private ExecutionContext? _executionContext;
    private SynchronizationContext? _context; // where the awaiting code continues; null: wherever the take happens
    private bool _ready; // the wait ended with something to take before anyone awaited
    private bool _done;
    private TResult _result = default!;
    private ExceptionDispatchInfo? _error;

    private readonly bool _onIsolate = Isolate.OnThisThread is not null; // then errors are thrown as fresh copies (ChannelErrors)

    protected DeferredTake() => _onWaitCompleted = OnWaitCompleted;

    /// <summary>Starts waiting and returns what the caller awaits.</summary>
    public ValueTask<TResult> Start()
    {
        Wait();
        return new ValueTask<TResult>(this, 0);
    }

    /// <summary>Takes an item, if one is there (on the thread where the awaiting code continues).</summary>
    protected abstract bool TryTake(out TResult result);

    /// <summary>Waits until something may be there to take (true) or nothing ever will be (false); throws for cancellation or a failed channel.</summary>
    protected abstract ValueTask<bool> WaitAsync();

    /// <summary>When <see cref="WaitAsync"/> said false: the final result, or the exception to throw.</summary>
    protected abstract TResult Finished();

    /// <summary>Whether an exception from <see cref="WaitAsync"/> means "completed" (then <see cref="Finished"/> decides what the caller sees).</summary>
    protected virtual bool IsCompletion(Exception error) => false;

    /// <summary>What the caller sees for an exception from <see cref="WaitAsync"/>: e.g. cancellation by its own token, not by a linked one.</summary>
    protected virtual Exception Translate(Exception error) => error;

    /// <summary>Called once when the take has its outcome: frees what the waits needed.</summary>
    protected virtual void Release()
    {
    }

    public ValueTaskSourceStatus GetStatus(short token)
    {
        bool takeHere;
        lock (_sync)
        {
            if (_done)
            {
                return Status();
            }

            // Ready before anyone awaited (the caller checks IsCompleted first): the asker takes it, on its own thread.
            takeHere = _ready && _continuation is null;
            _ready = false;
        }

        if (takeHere && !TakeInto())
        {
            Wait(); // another reader was first
        }

        lock (_sync)
        {
            return _done ? Status() : ValueTaskSourceStatus.Pending;
        }
    }

    public TResult GetResult(short token)
    {
        lock (_sync)
        {
            Debug.Assert(_done, "GetResult before completion");
            _error?.Throw();
            return _result;
        }
    }

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        SynchronizationContext? context = (flags & ValueTaskSourceOnCompletedFlags.UseSchedulingContext) != 0
            && SynchronizationContext.Current is { } current && current.GetType() != typeof(SynchronizationContext) ? current : null;
        ExecutionContext? executionContext = (flags & ValueTaskSourceOnCompletedFlags.FlowExecutionContext) != 0 ? ExecutionContext.Capture() : null;
        bool done, ready;
        lock (_sync)
        {
            _continuation = continuation;
            _continuationState = state;
            _context = context;
            _executionContext = executionContext;
            done = _done;
            ready = _ready;
            _ready = false;
        }

        // Never inline here: the awaiter is still inside its await.
        if (done)
        {
            Schedule(static take => take.Continue());
        }
        else if (ready)
        {
            Schedule(static take => take.TakeAndContinue());
        }
    }

    private void Wait()
    {
        try
        {
            _wait = WaitAsync();
        }
        catch (Exception ex)
        {
            Complete(default!, Capture(ex), mustSchedule: true);
            return;
        }

        if (_wait.IsCompleted)
        {
            OnWaitCompleted();
        }
        else
        {
            _wait.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_onWaitCompleted);
        }
    }

    private void OnWaitCompleted()
    {
        bool ready;
        try
        {
            ready = _wait.GetAwaiter().GetResult();
        }
        catch (Exception ex) when (IsCompletion(ex))
        {
            ready = false;
        }
        catch (Exception ex)
        {
            Complete(default!, Capture(ex), mustSchedule: false);
            return;
        }

        if (!ready)
        {
            TResult final;
            try
            {
                final = Finished();
            }
            catch (Exception ex)
            {
                Complete(default!, Capture(ex), mustSchedule: false);
                return;
            }

            Complete(final, null, mustSchedule: false);
            return;
        }

        Interleave.Point("take.woken");
        SynchronizationContext? context;
        lock (_sync)
        {
            if (_continuation is null)
            {
                _ready = true; // nobody awaits yet: whoever does (OnCompleted, GetStatus) takes it
                return;
            }

            context = _context;
        }

        if (context is null)
        {
            TakeAndContinue(); // the awaiting code continues on this thread anyway
        }
        else
        {
            Post(context, static state => ((DeferredTake<TResult>)state!).TakeAndContinue(), this); // a close drops the post, not the item
        }
    }

    /// <summary>Where the awaiting code continues: take, then continue inline; or wait again if another reader was first.</summary>
    private void TakeAndContinue()
    {
        Interleave.Point("take.taking");
        if (TakeInto())
        {
            Continue();
        }
        else
        {
            Wait();
        }
    }

    private bool TakeInto()
    {
        TResult result;
        try
        {
            if (!TryTake(out result))
            {
                return false;
            }
        }
        catch (Exception ex)
        {
            _ = SetDone(default!, Capture(ex)); // e.g. an item that does not decode
            return true;
        }

        _ = SetDone(result, null); // the caller continues the awaiting code (or it finds the take done)
        return true;
    }

    /// <summary>
    /// Completes without an item (finished, failed or cancelled) and continues the awaiting code where it wants to be;
    /// <paramref name="mustSchedule"/> when the caller is itself inside a step that must not run the continuation inline.
    /// </summary>
    private void Complete(TResult result, ExceptionDispatchInfo? error, bool mustSchedule)
    {
        if (!SetDone(result, error))
        {
            return; // nobody awaits yet: OnCompleted or GetStatus will see it done
        }

        if (mustSchedule || _context is not null)
        {
            Schedule(static take => take.Continue());
        }
        else
        {
            Continue();
        }
    }

    /// <summary>Records the outcome; says whether a continuation was registered (if not, OnCompleted will see it done, in the same lock).</summary>
    private bool SetDone(TResult result, ExceptionDispatchInfo? error)
    {
        bool awaited;
        lock (_sync)
        {
            _result = result;
            _error = error;
            _done = true;
            awaited = _continuation is not null;
        }

        Release();
        return awaited;
    }

    private void Schedule(Action<DeferredTake<TResult>> action)
    {
        if (_context is { } context)
        {
            Post(context, static state => { var (take, run) = ((DeferredTake<TResult>, Action<DeferredTake<TResult>>))state!; run(take); }, (this, action));
        }
        else
        {
            ThreadPool.UnsafeQueueUserWorkItem(static state => state.run(state.take), (take: this, run: action), preferLocal: true);
        }
    }

    /// <summary>
    /// Posts to the awaiting code's context. A context that refuses (a UI context whose window is gone) can never run
    /// that code; its exception must not escape here, often a thread-pool thread, where it would end the process. The
    /// take then ends with that exception (seen by anyone who asks); an item not yet taken stays in the channel.
    /// </summary>
    private void Post(SynchronizationContext context, SendOrPostCallback callback, object state)
    {
        try
        {
            context.Post(callback, state);
        }
        catch (Exception ex)
        {
            lock (_sync)
            {
                if (_done)
                {
                    return;
                }

                _error = ExceptionDispatchInfo.Capture(ex);
                _done = true;
            }

            Release();
        }
    }

    private void Continue()
    {
        Action<object?> continuation = _continuation!;
        object? state = _continuationState;
        if (_executionContext is { } executionContext)
        {
            ExecutionContext.Run(executionContext, static s => { var (c, st) = ((Action<object?>, object?))s!; c(st); }, (continuation, state));
        }
        else
        {
            continuation(state);
        }
    }

    /// <summary>
    /// What the caller sees (<see cref="Translate"/>); in an isolate a fresh copy, since the exception a channel keeps must
    /// never carry the isolate's frames (see <see cref="ChannelErrors"/>).
    /// </summary>
    private ExceptionDispatchInfo Capture(Exception error)
    {
        Exception seen = Translate(error);
        return ExceptionDispatchInfo.Capture(_onIsolate && ReferenceEquals(seen, error) ? ChannelErrors.Fresh(seen) : seen);
    }

    private ValueTaskSourceStatus Status() =>
        _error is null ? ValueTaskSourceStatus.Succeeded
        : _error.SourceException is OperationCanceledException ? ValueTaskSourceStatus.Canceled
        : ValueTaskSourceStatus.Faulted;
}
