using System.Threading.Channels;
using Isolates.Tests.Diagnostics;
using Isolates.Tests.Support.Proxies;

namespace Isolates.Tests.Proxies;

/// <summary>Adversarial cases of the disposal at close (see ObjectDisposalAtCloseTests for the ordinary ones).</summary>
[TestFixture]
[CancelAfter(60_000)]
public class DisposalAtCloseAdversaryTests
{
    /// <summary>
    /// A hosted-service shape: a loop started on the isolate's thread stops on the closing token, and DisposeAsync
    /// awaits it. The loop's continuation is posted to the isolate's context after its queue closed: it used to be
    /// dropped, so the DisposeAsync waited for CloseTimeout and the isolate was reported stuck.
    /// </summary>
    [Test]
    public async Task CloseAsync_DisposeAsyncAwaitsALoopOnTheIsolatesContext_TheLoopEndsAndTheCloseIsGraceful()
    {
        Channel<string> log = IsolateChannel.CreateUnbounded<string>();
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { CloseTimeout = TimeSpan.FromSeconds(5), UnloadTimeout = TimeSpan.FromSeconds(10) });
        await iso.CreateObjectAsync<IResource, LoopingResource, ChannelWriter<string>, string>(log.Writer, "svc");

        await Wait.Bounded(iso.CloseAsync());

        IsolateExit exit = await Wait.Bounded(iso.Exited);
        Assert.That(exit.Reason, Is.EqualTo(IsolateExitReason.Closed), exit.Diagnostic ?? iso.UnloadDiagnostic);
        Assert.That(Drain(log), Is.EqualTo(new[] { "svc loop ended on its thread", "svc disposed async on its thread" }));
        Assert.That(await Wait.Bounded(iso.Unloaded), Is.EqualTo(UnloadStatus.Unloaded), iso.UnloadDiagnostic);
    }

    private static string[] Drain(Channel<string> log)
    {
        var items = new List<string>();
        while (log.Reader.TryRead(out string? item))
        {
            items.Add(item);
        }

        return [.. items];
    }
}
