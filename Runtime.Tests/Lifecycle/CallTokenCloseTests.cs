using System.Threading.Channels;
using Isolates.Tests.Support.Stress;

namespace Isolates.Tests.Lifecycle;

/// <summary>A reduction of what the chaos soak (Stress/ChaosSoakTests) found about a call's token when its isolate closes.</summary>
[TestFixture]
[CancelAfter(60_000)]
public class CallTokenCloseTests
{
    /// <summary>
    /// README ("Errors"): a CancellationToken parameter of the function is cancelled inside the isolate "also when the
    /// isolate closes". It was not for a call already running: closing abandoned the call and disposed the token's
    /// linked source before the closing token was cancelled, cutting the link.
    /// </summary>
    [Test]
    public async Task CloseAsync_AsyncCallWaitingOnItsToken_TokenIsCancelled()
    {
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Name = "token-on-close" });
        Channel<int> cancelled = IsolateChannel.CreateUnbounded<int>();
        Task waiting = iso.CallAsync(SoakReductions.ReportTokenCancellationAsync, cancelled.Writer, CancellationToken.None);
        await Diagnostics.Poll.Until(() => iso.QueueLength == 0, "the call to start waiting");
        await Task.Delay(50);

        await Wait.Bounded(iso.CloseAsync());

        Assert.That(async () => await waiting, Throws.InstanceOf<IsolateClosedException>());
        Assert.That(await Wait.Bounded(cancelled.Reader.WaitToReadAsync().AsTask()), Is.True, "the call's token was never cancelled");
    }
}
