using Isolates.Pool;

namespace Isolates;

// The SubmitAsync overloads are generated (IsolatePool.Submit.g.cs, from tools/Isolates.Overloads); each hands its
// call to SubmitCoreAsync, which runs it on the least busy isolate.
public sealed partial class IsolatePool
{
    private Task<TResult> SubmitCoreAsync<TResult>(Delegate function, CancellationToken cancellationToken, Func<Isolate, Task<TResult>> call)
    {
        ArgumentNullException.ThrowIfNull(function);
        BeginOperation();
        return RunSubmittedAsync(call, cancellationToken);
    }

    private Task SubmitCoreAsync(Delegate function, CancellationToken cancellationToken, Func<Isolate, Task> call)
    {
        ArgumentNullException.ThrowIfNull(function);
        BeginOperation();
        return RunSubmittedAsync(call, cancellationToken);
    }

    private async Task<TResult> RunSubmittedAsync<TResult>(Func<Isolate, Task<TResult>> call, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                PoolWorker worker = LeastBusyWorker();
                worker.Enter();
                Isolate? isolate = null;
                try
                {
                    // Waits while the slot's isolate is being replaced (it chose this slot only if every slot was),
                    // bounded by the caller's token and by the pool closing its isolates.
                    isolate = await worker.AcquireAsync(cancellationToken).ConfigureAwait(false);
                    return await call(isolate).ConfigureAwait(false);
                }
                catch (IsolateClosedException ex) when (MayRunElsewhere(ex, isolate))
                {
                    // The isolate ended before the call started (it faulted or was closed with the call queued): it
                    // never ran, so it runs on a running slot or the replacement instead of failing.
                }
                catch (Exception ex) when (IsCutShort(ex, cancellationToken))
                {
                    throw SubmitCutShort(ex);
                }
                finally
                {
                    worker.Exit();
                }
            }
        }
        finally
        {
            EndOperation();
        }
    }

    private async Task RunSubmittedAsync(Func<Isolate, Task> call, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                PoolWorker worker = LeastBusyWorker();
                worker.Enter();
                Isolate? isolate = null;
                try
                {
                    isolate = await worker.AcquireAsync(cancellationToken).ConfigureAwait(false);
                    await call(isolate).ConfigureAwait(false);
                    return;
                }
                catch (IsolateClosedException ex) when (MayRunElsewhere(ex, isolate))
                {
                    // never ran: see the generic overload
                }
                catch (Exception ex) when (IsCutShort(ex, cancellationToken))
                {
                    throw SubmitCutShort(ex);
                }
                finally
                {
                    worker.Exit();
                }
            }
        }
        finally
        {
            EndOperation();
        }
    }

    /// <summary>
    /// Whether a submitted call that its isolate refused may be sent again: the refusal is that isolate's own (not
    /// one thrown by the function, which did run), the call never started, and the pool is not closing its isolates
    /// (then it fails as cut short). The ended isolate is no longer chosen (not running), so the retry goes to another
    /// slot or waits for the replacement; it never spins on the same isolate.
    /// </summary>
    private bool MayRunElsewhere(IsolateClosedException exception, Isolate? sentTo) =>
        exception.NotStarted && sentTo is not null && exception.IsolateId == sentTo.Id && sentTo.State != IsolateState.Running && !IsAborting;
}
