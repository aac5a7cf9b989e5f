using Isolates.Tests.Support;

namespace Isolates.Tests.Lifecycle;

/// <summary>
/// A call whose code never returns in time: when CloseAsync gives up on the isolate's thread, the call fails with
/// IsolateClosedException saying it was stuck, and whatever the code returns later is discarded (issue 11, item 5).
/// </summary>
[TestFixture]
[CancelAfter(60_000)]
public class StuckCallTests
{
    [Test]
    public async Task CloseAsync_CallSpinsPastCloseTimeout_CallFailsWithIsolateClosedExceptionSayingStuck()
    {
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Name = "runaway", CloseTimeout = TimeSpan.FromMilliseconds(300) });
        Task<int> spinning = iso.CallAsync(Edges.SpinIgnoringTokens, 2_500);
        await Task.Delay(100); // the loop is running

        var watch = System.Diagnostics.Stopwatch.StartNew();
        await Wait.Bounded(iso.CloseAsync());
        Assert.That(spinning.IsCompleted, Is.True, "every call completes: the stuck one fails as soon as close gives up, not when (if ever) the loop ends");
        watch.Stop();

        var error = Assert.ThrowsAsync<IsolateClosedException>(() => spinning)!;
        IsolateExit exit = await Wait.Bounded(iso.Exited);
        Assert.Multiple(() =>
        {
            Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(2)));
            Assert.That(error.Message, Does.Contain("stuck").And.Contain("runaway").And.Contain("SpinIgnoringTokens"));
            Assert.That(error.IsolateName, Is.EqualTo("runaway"));
            Assert.That(exit.Reason, Is.EqualTo(IsolateExitReason.Stuck));
        });

        // When the loop finally returns 42, nobody receives it: the call stays failed, and the isolate unloads.
        Assert.That(await Wait.Bounded(iso.Unloaded), Is.EqualTo(UnloadStatus.Unloaded));
        Assert.That(spinning.IsFaulted, Is.True);
    }

    [Test]
    public async Task CloseAsync_AsyncCallSpinsAfterItsFirstAwait_CallFailsAtOnceAndTheSpinResultIsDiscarded()
    {
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { CloseTimeout = TimeSpan.FromMilliseconds(200) });
        Task<int> call = iso.CallAsync(Edges.YieldThenSpinAsync, 1_500);
        await Task.Delay(100);

        await Wait.Bounded(iso.CloseAsync());

        Assert.ThrowsAsync<IsolateClosedException>(() => call);
        Assert.That(await Wait.Bounded(iso.Unloaded), Is.EqualTo(UnloadStatus.Unloaded));
        Assert.That(call.IsFaulted, Is.True);
    }

    [Test]
    public async Task CloseAsync_StuckCallWithCallerToken_FailsWithIsolateClosedNotCancelled()
    {
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { CloseTimeout = TimeSpan.FromMilliseconds(200) });
        using var never = new CancellationTokenSource();
        Task<int> call = iso.CallAsync(Edges.SpinIgnoringTokens, 1_500, never.Token);
        await Task.Delay(100);

        await Wait.Bounded(iso.CloseAsync());

        Assert.ThrowsAsync<IsolateClosedException>(() => call);
        await Wait.Bounded(iso.Unloaded);
    }
}
