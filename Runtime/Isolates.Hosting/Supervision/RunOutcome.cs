namespace Isolates.Hosting.Supervision;

/// <summary>Reads how a worker's run ended.</summary>
internal static class RunOutcome
{
    /// <summary>The fault of a finished run, or null if <c>RunAsync</c> returned normally.</summary>
    public static Exception? FaultOf(Task run)
    {
        if (run.IsCompletedSuccessfully)
        {
            return null;
        }

        if (run.IsCanceled)
        {
            return new OperationCanceledException("The worker's RunAsync ended as cancelled although the host did not ask it to stop.");
        }

        Exception exception = run.Exception!.InnerException ?? run.Exception;

        // The isolate faulted outside the call (an async void method, an unobserved task): the call was abandoned
        // with IsolateClosedException, whose inner exception is the fault itself. Report the fault.
        return exception is IsolateClosedException { InnerException: IsolateExecutionException fault } ? fault : exception;
    }

    /// <summary>Whether a fault is just the worker honouring its cancellation (an OperationCanceledException).</summary>
    public static bool IsCancellation(Exception fault) =>
        fault is OperationCanceledException ||
        fault is IsolateExecutionException { RemoteType: "System.OperationCanceledException" or "System.Threading.Tasks.TaskCanceledException" };
}
