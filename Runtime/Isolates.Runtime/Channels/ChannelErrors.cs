using System.Threading.Channels;
using Isolates.Errors;

namespace Isolates.Channels;

/// <summary>
/// Inside an isolate, a channel operation never throws an exception object the channel keeps. A channel completed with
/// an error holds that one object and throws it from every wait (<c>WaitToReadAsync</c>, <c>WaitToWriteAsync</c>,
/// <c>ReadAllAsync</c>, awaiting <c>Completion</c>; an <see cref="OperationCanceledException"/> completion from
/// <c>ReadAsync</c>/<c>WriteAsync</c> too); throwing it through isolate code appends the isolate's frames to its stack
/// trace, which references the isolate's code, so the channel (kept by the host) kept every isolate that ever saw the
/// error from unloading (found by the chaos soak; the same reason a remote error never crosses as its object). So the
/// ends catch what the buffer throws in the runtime's own frames and throw a fresh exception of the same kind instead.
/// </summary>
internal static class ChannelErrors
{
    /// <summary>A fresh exception that says the same as <paramref name="error"/>, for isolate code to own.</summary>
    public static Exception Fresh(Exception error) => error switch
    {
        IsolateClosedException closed => new IsolateClosedException(closed.IsolateId, closed.IsolateName, closed.Message, closed.InnerException),
        IsolateExecutionException remote => new IsolateExecutionException(remote.IsolateId, remote.IsolateName, remote.RemoteType, remote.Message, remote.RemoteStackTrace, remote.RemoteInnerException) { ItemIndex = remote.ItemIndex },
        ChannelClosedException closed => new ChannelClosedException(closed.Message, closed.InnerException), // the inner one is never thrown
        TaskCanceledException cancelled => new TaskCanceledException(cancelled.Message, cancelled.InnerException, cancelled.CancellationToken),
        OperationCanceledException cancelled => new OperationCanceledException(cancelled.Message, cancelled.InnerException, cancelled.CancellationToken),
        _ => ExceptionTransfer.ToRemote(error, Isolate.OnThisThread?.Id ?? 0, Isolate.OnThisThread?.Name ?? string.Empty), // a host's own exception object: its remote form
    };

    /// <summary>On an isolate's thread, a wait whose failure is rethrown as a fresh exception; elsewhere the wait itself.</summary>
    public static ValueTask<bool> Guard(ValueTask<bool> wait) =>
        wait.IsCompletedSuccessfully || Isolate.OnThisThread is null ? wait : new ValueTask<bool>(GuardAsync(wait));

    /// <summary>The same for a write.</summary>
    public static ValueTask Guard(ValueTask write) =>
        write.IsCompletedSuccessfully || Isolate.OnThisThread is null ? write : new ValueTask(GuardAsync(write));

    /// <summary>The same for a completion task.</summary>
    public static async Task GuardAsync(Task completion)
    {
        try
        {
            await completion.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            throw Fresh(ex);
        }
    }

    private static async Task<bool> GuardAsync(ValueTask<bool> wait)
    {
        try
        {
            return await wait.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            throw Fresh(ex);
        }
    }

    private static async Task GuardAsync(ValueTask write)
    {
        try
        {
            await write.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            throw Fresh(ex);
        }
    }
}
