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

    [Test]
    public async Task CloseAsync_ADisposeCreatesAnObjectInItsOwnIsolate_FailsAtOnce_AndTheCloseCompletes()
    {
        Channel<string> log = IsolateChannel.CreateUnbounded<string>();
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { CloseTimeout = TimeSpan.FromSeconds(5), UnloadTimeout = TimeSpan.FromSeconds(10) });
        await iso.CreateObjectAsync<IResource, CreatingResource, ChannelWriter<string>, string>(log.Writer, "creator");

        await Wait.Bounded(iso.CloseAsync());

        Assert.That((await Wait.Bounded(iso.Exited)).Reason, Is.EqualTo(IsolateExitReason.Closed));
        Assert.That(Drain(log), Is.EqualTo(new[] { "creator: create failed at once: IsolateClosedException" }));
        Assert.That(await Wait.Bounded(iso.Unloaded), Is.EqualTo(UnloadStatus.Unloaded), iso.UnloadDiagnostic);
    }

    [Test]
    public async Task CloseAsync_ADisposeReleasesAnotherObjectOfItsIsolate_EachIsDisposedOnce_AndTheCloseCompletes()
    {
        Channel<string> log = IsolateChannel.CreateUnbounded<string>();
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { CloseTimeout = TimeSpan.FromSeconds(5), UnloadTimeout = TimeSpan.FromSeconds(10) });
        IResource other = await iso.CreateObjectAsync<IResource, SyncResource, ChannelWriter<string>, string>(log.Writer, "other");
        await iso.CreateObjectAsync<IResource, ReleasingResource, ChannelWriter<string>, string, IResource>(log.Writer, "releaser", other);

        await Wait.Bounded(iso.CloseAsync());

        Assert.That((await Wait.Bounded(iso.Exited)).Reason, Is.EqualTo(IsolateExitReason.Closed));
        string[] entries = Drain(log);
        Assert.That(entries, Has.Exactly(1).EqualTo("other disposed on its thread"));
        Assert.That(entries, Has.Exactly(1).StartWith("releaser: release"));
        Assert.That(await Wait.Bounded(iso.Unloaded), Is.EqualTo(UnloadStatus.Unloaded), iso.UnloadDiagnostic);
    }

    [Test]
    public async Task CloseAsync_CalledTwiceConcurrentlyDuringADisposeAsync_BothWaitForIt_AndItRunsOnce()
    {
        Channel<string> log = IsolateChannel.CreateUnbounded<string>();
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { CloseTimeout = TimeSpan.FromSeconds(5), UnloadTimeout = TimeSpan.FromSeconds(10) });
        await iso.CreateObjectAsync<IResource, SlowResource, ChannelWriter<string>, string>(log.Writer, "slow");

        Task first = iso.CloseAsync();
        Task second = iso.CloseAsync();
        await Wait.Bounded(Task.WhenAll(first, second));

        Assert.That(Drain(log), Is.EqualTo(new[] { "slow disposed async on its thread" }), "both closes returned after the disposal");
        Assert.That((await Wait.Bounded(iso.Exited)).Reason, Is.EqualTo(IsolateExitReason.Closed));
        Assert.That(await Wait.Bounded(iso.Unloaded), Is.EqualTo(UnloadStatus.Unloaded), iso.UnloadDiagnostic);
    }

    [Test]
    public async Task CloseAsync_InfiniteCloseTimeout_ADisposeAsyncThatFinishes_IsAwaited()
    {
        Channel<string> log = IsolateChannel.CreateUnbounded<string>();
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { CloseTimeout = Timeout.InfiniteTimeSpan, UnloadTimeout = TimeSpan.FromSeconds(10) });
        await iso.CreateObjectAsync<IResource, SlowResource, ChannelWriter<string>, string>(log.Writer, "slow");
        await iso.CreateObjectAsync<IResource, LoopingResource, ChannelWriter<string>, string>(log.Writer, "svc");

        await Wait.Bounded(iso.CloseAsync());

        Assert.That(Drain(log), Is.EqualTo(new[] { "svc loop ended on its thread", "svc disposed async on its thread", "slow disposed async on its thread" }));
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
