using System.Threading.Channels;
using Isolates.Tests.Diagnostics;
using Isolates.Tests.Support.Proxies;
using Microsoft.Extensions.Logging;

namespace Isolates.Tests.Proxies;

/// <summary>Objects still living in an isolate when it closes gracefully are disposed there, within the close's time.</summary>
[TestFixture]
[CancelAfter(60_000)]
public class ObjectDisposalAtCloseTests
{
    [Test]
    public async Task CloseAsync_ObjectsStillInTheIsolate_AreDisposedOnItsThread_NewestFirst()
    {
        Channel<string> log = IsolateChannel.CreateUnbounded<string>();
        Isolate iso = await Isolate.CreateAsync();
        await iso.CreateObjectAsync<IResource, SyncResource, ChannelWriter<string>, string>(log.Writer, "a");
        await iso.CreateObjectAsync<IResource, AsyncResource, ChannelWriter<string>, string>(log.Writer, "b");
        await iso.CreateObjectAsync<IResource, SyncResource, ChannelWriter<string>, string>(log.Writer, "c");

        await Wait.Bounded(iso.CloseAsync());

        Assert.That(Drain(log), Is.EqualTo(new[] { "c disposed on its thread", "b disposed async on its thread", "a disposed on its thread" }));
        Assert.That(iso.ObjectCount, Is.Zero);
        Assert.That((await Wait.Bounded(iso.Exited)).Reason, Is.EqualTo(IsolateExitReason.Closed));
    }

    [Test]
    public async Task CloseAsync_ADisposeThrows_IsLogged_AndTheOthersAreDisposed_AndTheCloseCompletes()
    {
        Channel<string> log = IsolateChannel.CreateUnbounded<string>();
        var logs = new ListLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(builder => builder.AddProvider(logs));
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { LoggerFactory = loggerFactory });
        await iso.CreateObjectAsync<IResource, SyncResource, ChannelWriter<string>, string>(log.Writer, "a");
        await iso.CreateObjectAsync<IResource, ThrowingResource, ChannelWriter<string>, string>(log.Writer, "bad");
        await iso.CreateObjectAsync<IResource, SyncResource, ChannelWriter<string>, string>(log.Writer, "c");

        await Wait.Bounded(iso.CloseAsync());

        Assert.That(Drain(log), Is.EqualTo(new[] { "c disposed on its thread", "bad dispose threw", "a disposed on its thread" }));
        Assert.That(logs.EventIds, Has.Exactly(1).EqualTo(14));
        Assert.That(logs.Messages.Single(m => m.Contains("threw from Dispose")), Does.Contain(typeof(ThrowingResource).FullName).And.Contain("object 2"));
        Assert.That(iso.Completion.IsCompletedSuccessfully, Is.True, "a throwing Dispose does not fault the isolate");
        Assert.That((await Wait.Bounded(iso.Exited)).Reason, Is.EqualTo(IsolateExitReason.Closed));
    }

    [Test]
    public async Task CloseAsync_ADisposeAsyncThatNeverFinishes_IsBoundedByCloseTimeout()
    {
        Channel<string> log = IsolateChannel.CreateUnbounded<string>();
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { CloseTimeout = TimeSpan.FromMilliseconds(500), UnloadTimeout = TimeSpan.FromSeconds(5) });
        await iso.CreateObjectAsync<IResource, SyncResource, ChannelWriter<string>, string>(log.Writer, "first");
        await iso.CreateObjectAsync<IResource, HangingResource, ChannelWriter<string>, string>(log.Writer, "hanging");
        await iso.CreateObjectAsync<IResource, SyncResource, ChannelWriter<string>, string>(log.Writer, "last");

        await Wait.Bounded(iso.CloseAsync());

        Assert.That(Drain(log), Is.EqualTo(new[] { "last disposed on its thread", "hanging dispose started" }), "the close's time ran out in the hanging DisposeAsync: the older object is dropped");
        IsolateExit exit = await Wait.Bounded(iso.Exited);
        Assert.That(exit.Reason, Is.EqualTo(IsolateExitReason.Stuck));
        Assert.That(exit.Diagnostic ?? iso.UnloadDiagnostic, Does.Contain(typeof(HangingResource).FullName));
        Assert.That(await Wait.Bounded(iso.Completion.ContinueWith(t => t.IsCompletedSuccessfully, TaskScheduler.Default)), Is.True, "the thread ends once the disposal gives up");
        Assert.That(await Wait.Bounded(iso.Unloaded), Is.EqualTo(UnloadStatus.Unloaded), iso.UnloadDiagnostic);
    }

    [Test]
    public async Task CloseAsync_DisposalCutShortByAZeroCloseTimeout_LogsHowManyObjectsWereNotDisposed()
    {
        Channel<string> log = IsolateChannel.CreateUnbounded<string>();
        var logs = new ListLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(builder => builder.AddProvider(logs));
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { LoggerFactory = loggerFactory, CloseTimeout = TimeSpan.Zero });
        await iso.CreateObjectAsync<IResource, SyncResource, ChannelWriter<string>, string>(log.Writer, "first");
        await iso.CreateObjectAsync<IResource, AsyncResource, ChannelWriter<string>, string>(log.Writer, "async");

        await Wait.Bounded(iso.CloseAsync());
        await Wait.Bounded(iso.Completion.ContinueWith(_ => { }, TaskScheduler.Default)); // the thread has finished with the objects

        Assert.That(Drain(log), Does.Not.Contain("first disposed on its thread"), "asked not to wait, the close dropped the older object");
        Assert.That(logs.EventIds, Has.Exactly(1).EqualTo(15), "what was not disposed is said, not silent");
        Assert.That(logs.Messages.Single(m => m.Contains("were not disposed")), Does.Contain("2 object(s)").And.Contain("CloseTimeout"));
    }

    [Test]
    public async Task CloseAsync_RacingReleaseAsync_DisposesEveryObjectExactlyOnce()
    {
        Channel<string> log = IsolateChannel.CreateUnbounded<string>();
        Isolate iso = await Isolate.CreateAsync();
        var resources = new List<IResource>();
        for (int i = 0; i < 20; i++)
        {
            resources.Add(await iso.CreateObjectAsync<IResource, SyncResource, ChannelWriter<string>, string>(log.Writer, "r" + i));
        }

        Task busy = iso.CallAsync(Support.Work.Sleep, 50);
        var releases = new List<Task>();
        for (int i = 0; i < resources.Count; i += 2)
        {
            releases.Add(Isolate.ReleaseAsync(resources[i])); // half of them queued behind busy when the close comes
        }

        Task closing = iso.CloseAsync();
        for (int i = 1; i < resources.Count; i += 2)
        {
            releases.Add(Isolate.ReleaseAsync(resources[i])); // after the close began: do nothing
        }

        await Wait.Bounded(closing);
        await Wait.Bounded(Task.WhenAll(releases));
        await Wait.Bounded(busy.ContinueWith(_ => { }, TaskScheduler.Default));

        string[] disposed = Drain(log);
        Assert.That(disposed.Order(), Is.EqualTo(Enumerable.Range(0, 20).Select(i => $"r{i} disposed on its thread").Order()), "each object disposed exactly once, by its release or by the close");
    }

    [Test]
    public async Task CloseAsync_AfterTheObjectWasReleased_DoesNotDisposeItAgain()
    {
        Channel<string> log = IsolateChannel.CreateUnbounded<string>();
        Isolate iso = await Isolate.CreateAsync();
        IResource released = await iso.CreateObjectAsync<IResource, AsyncResource, ChannelWriter<string>, string>(log.Writer, "released");
        await iso.CreateObjectAsync<IResource, AsyncResource, ChannelWriter<string>, string>(log.Writer, "kept");

        await Wait.Bounded(Isolate.ReleaseAsync(released));
        await Wait.Bounded(iso.CloseAsync());

        Assert.That(Drain(log), Is.EqualTo(new[] { "released disposed async on its thread", "kept disposed async on its thread" }));
    }

    [Test]
    public async Task CloseAsync_ADisposeCallsAnotherIsolate_TheCallFailsAtOnceWithIsolateClosedException()
    {
        Channel<string> log = IsolateChannel.CreateUnbounded<string>();
        await using Isolate other = await Isolate.CreateAsync(new IsolateOptions { Name = "other-" + Guid.NewGuid().ToString("N") });
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Name = "closing-caller" });
        await iso.CreateObjectAsync<IResource, CallingResource, ChannelWriter<string>, string>(log.Writer, other.Name);

        await Wait.Bounded(iso.CloseAsync());

        string[] logged = Drain(log);
        Assert.That(logged, Has.Length.EqualTo(1));
        Assert.That(logged[0], Does.StartWith("call failed at once: IsolateClosedException: Isolate 'closing-caller' (" + iso.Id + ") closed, so its call of " +
            typeof(CallingResource).FullName + ".Answer in isolate '" + other.Name + "'"),
            "its ClosingToken is cancelled: a call it makes could only pin it");
    }

    [Test]
    public async Task CloseAsync_ThatGaveUpOnAStuckThread_DisposesNothingWhenTheThreadReturnsLater()
    {
        Channel<string> log = IsolateChannel.CreateUnbounded<string>();
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { CloseTimeout = TimeSpan.FromMilliseconds(200) });
        await iso.CreateObjectAsync<IResource, SyncResource, ChannelWriter<string>, string>(log.Writer, "a");
        Task busy = iso.CallAsync(Support.Work.Sleep, 1500);
        await Poll.Until(() => iso.QueueLength == 0, "the sleep to start");

        await Wait.Bounded(iso.CloseAsync());
        Assert.That((await Wait.Bounded(iso.Exited)).Reason, Is.EqualTo(IsolateExitReason.Stuck));
        await Wait.Bounded(iso.Completion); // the thread returned from the sleep and ended

        Assert.That(Drain(log), Is.Empty, "the close was over: nothing is disposed outside its time");
        Assert.That(async () => await Wait.Bounded(busy), Throws.InstanceOf<IsolateClosedException>());
    }

    [Test]
    public async Task FaultedIsolate_DisposesNothing()
    {
        Channel<string> log = IsolateChannel.CreateUnbounded<string>();
        Isolate iso = await Isolate.CreateAsync();
        await iso.CreateObjectAsync<IResource, SyncResource, ChannelWriter<string>, string>(log.Writer, "a");

        await iso.CallAsync(Support.Failing.StartAsyncVoidThatThrows);
        Assert.That(async () => await Wait.Bounded(iso.Completion), Throws.InstanceOf<IsolateExecutionException>());
        await Wait.Bounded(iso.CloseAsync());

        Assert.That(Drain(log), Is.Empty);
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
