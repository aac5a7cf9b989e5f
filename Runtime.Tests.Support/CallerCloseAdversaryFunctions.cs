using System.Threading.Channels;

namespace Isolates.Tests.Support;

/// <summary>Adversarial callers that outlive their isolate (Runtime.Tests/Calls/CallerCloseAdversaryTests).</summary>
public static class CallerCloseAdversaryFunctions
{
    /// <summary>
    /// Starts this isolate's code on the thread pool (it carries the isolate's contextual reflection scope), which waits for
    /// <paramref name="go"/>, then calls <see cref="CallerCloseFunctions.WaitForeverAsync"/> in <paramref name="target"/>
    /// and writes to <paramref name="outcome"/> how that call stood at once. Returns as soon as the code is waiting.
    /// </summary>
    public static int CallLaterFromThePool(ChannelReader<int> go, ChannelWriter<string> outcome, string target)
    {
        _ = Task.Run(async () =>
        {
            await go.ReadAsync().ConfigureAwait(false);
            Isolate? callee = Isolate.All.SingleOrDefault(i => i.Name == target);
            if (callee is null)
            {
                outcome.TryWrite("no callee");
                return;
            }

            Task<int> call = callee.CallAsync(CallerCloseFunctions.WaitForeverAsync);
            outcome.TryWrite(call.IsFaulted
                ? "failed at once: " + call.Exception!.InnerException!.GetType().Name + ": " + call.Exception.InnerException.Message
                : "call status " + call.Status);
        });
        return 0;
    }
}
