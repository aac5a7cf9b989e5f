using Isolates.Tests.Support;

namespace Isolates.Tests.Lifecycle;

[TestFixture]
[CancelAfter(30_000)]
public class CloseTests
{
    [Test]
    public async Task CloseAsync_CalledTwice_ReturnsTheSameCompletedClose()
    {
        Isolate iso = await Isolate.CreateAsync();

        Task first = iso.CloseAsync();
        Task second = iso.CloseAsync();
        await Wait.Bounded(first);

        Assert.That(second, Is.SameAs(first));
        Assert.That(iso.State, Is.EqualTo(IsolateState.Closed));
        Assert.That(iso.Completion.IsCompletedSuccessfully, Is.True);
    }

    [Test]
    public async Task CallAsync_AfterClose_FailsWithIsolateClosedException()
    {
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Name = "gone" });
        await iso.CloseAsync();

        var error = Assert.ThrowsAsync<IsolateClosedException>(() => iso.CallAsync(Counter.Bump));

        Assert.That(error!.IsolateName, Is.EqualTo("gone"));
        Assert.That(error.Message, Does.Contain("gone").And.Contain("closed"));
    }

    [Test]
    public async Task CloseAsync_WithQueuedCalls_RunningCallFinishesAndQueuedOnesFail()
    {
        Isolate iso = await Isolate.CreateAsync();
        Task running = iso.CallAsync(Work.Sleep, 300);
        await Task.Delay(50); // the sleep has started
        Task<int>[] queued = [.. Enumerable.Range(0, 10).Select(_ => iso.CallAsync(Counter.Bump))];

        await Wait.Bounded(iso.CloseAsync());

        Assert.That(running.IsCompletedSuccessfully, Is.True, "the call that was running finishes");
        foreach (Task<int> call in queued)
        {
            Assert.ThrowsAsync<IsolateClosedException>(() => call);
        }
    }

    [Test]
    public async Task CloseAsync_WithUnfinishedAsyncCall_FailsItInsteadOfHanging()
    {
        Isolate iso = await Isolate.CreateAsync();
        Task never = iso.CallAsync(Work.NeverAsync);
        await Task.Delay(20);

        await Wait.Bounded(iso.CloseAsync());

        var error = Assert.ThrowsAsync<IsolateClosedException>(() => Wait.Bounded(never));
        Assert.That(error!.Message, Does.Contain("before it finished"));
    }

    [Test]
    public async Task CloseAsync_CancelsClosingTokenAndRunsItsCallbacks()
    {
        Isolate iso = await Isolate.CreateAsync();
        string variable = "ISOLATES_TEST_CLOSING_" + iso.Id;
        await iso.CallAsync(Work.RegisterClosingCallback, variable);
        Assert.That(iso.ClosingToken.IsCancellationRequested, Is.False);

        await iso.CloseAsync();

        Assert.That(iso.ClosingToken.IsCancellationRequested, Is.True);
        Assert.That(Environment.GetEnvironmentVariable(variable), Is.Not.Null, "the isolate's callback ran");
        Environment.SetEnvironmentVariable(variable, null);
    }

    [Test]
    public async Task CloseAsync_LongRunningCodeWatchingClosingToken_StopsCooperatively()
    {
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { CloseTimeout = TimeSpan.FromSeconds(10) });
        Task<int> looping = iso.CallAsync(Work.LoopUntilClosing);
        await Task.Delay(50);

        await Wait.Bounded(iso.CloseAsync());

        Assert.That(await looping, Is.GreaterThan(0), "the loop saw the closing token and returned normally");
        Assert.That(iso.UnloadStatus, Is.EqualTo(UnloadStatus.Unloaded));
    }

    [Test]
    public async Task CloseAsync_ThreadStuck_QueuedCallsFailAtOnce()
    {
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { CloseTimeout = TimeSpan.FromMilliseconds(100) });
        Task stuck = iso.CallAsync(Work.Sleep, 1_000);
        await Task.Delay(30);
        Task<int> queued = iso.CallAsync(Counter.Bump);

        await Wait.Bounded(iso.CloseAsync());

        Assert.That(queued.IsCompleted, Is.True, "a call queued behind stuck code fails when CloseAsync is called, not when the code returns");
        Assert.ThrowsAsync<IsolateClosedException>(() => queued);
        Assert.ThrowsAsync<IsolateClosedException>(() => Wait.Bounded(stuck), "the running call fails when close gives up on it");
        await Wait.Bounded(iso.Unloaded);
    }

    [Test]
    public async Task CloseAsync_ThreadStuckPastTimeout_ReturnsAndReportsWhatIsRunning()
    {
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { CloseTimeout = TimeSpan.FromMilliseconds(200) });
        Task stuck = iso.CallAsync(Work.Sleep, 1500);
        await Task.Delay(50);

        var watch = System.Diagnostics.Stopwatch.StartNew();
        await Wait.Bounded(iso.CloseAsync());
        watch.Stop();

        Assert.Multiple(() =>
        {
            Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(1.2)), "close gives up on the thread after its timeout");
            Assert.That(iso.UnloadDiagnostic, Does.Contain("Work.Sleep").And.Contain("did not stop"));
            Assert.That(Isolate.All, Does.Contain(iso), "a stuck isolate is still alive and listed");
        });

        // Once the code returns, the isolate finishes closing and unloads after all.
        Assert.That(stuck.IsFaulted, Is.True, "the call that held the thread failed when close gave up on it");
        Assert.That(await Wait.Bounded(iso.Unloaded), Is.EqualTo(UnloadStatus.Unloaded));
        Assert.That(Isolate.All, Does.Not.Contain(iso));
    }

    [Test]
    public async Task CloseAsync_FromInsideTheIsolate_ClosesAfterTheCurrentCall()
    {
        Isolate iso = await Isolate.CreateAsync();

        await iso.CallAsync(static () => { _ = Isolate.Current!.CloseAsync(); });

        await Wait.Bounded(iso.Completion);
        await Wait.Bounded(iso.CloseAsync()); // the host's close waits for the same close, unload check included
        Assert.That(iso.State, Is.EqualTo(IsolateState.Closed));
        Assert.That(iso.UnloadStatus, Is.EqualTo(UnloadStatus.Unloaded));
    }

    [Test]
    public void CreateAsync_InvalidOptions_ThrowArgumentExceptionsNamingTheOption()
    {
        var empty = Assert.ThrowsAsync<ArgumentException>(() => Isolate.CreateAsync(new IsolateOptions { Name = "" }));
        var negative = Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Isolate.CreateAsync(new IsolateOptions { CloseTimeout = TimeSpan.FromSeconds(-2) }));
        var blank = Assert.ThrowsAsync<ArgumentException>(() => Isolate.CreateAsync(new IsolateOptions { SharedAssemblies = [" "] }));

        Assert.That(empty!.Message, Does.Contain("Name"));
        Assert.That(negative!.Message, Does.Contain("CloseTimeout"));
        Assert.That(blank!.Message, Does.Contain("SharedAssemblies"));
    }

    [Test]
    public void CreateAsync_CancelledToken_ThrowsOperationCanceled()
    {
        Assert.CatchAsync<OperationCanceledException>(() => Isolate.CreateAsync(cancellationToken: new CancellationToken(canceled: true)));
    }
}
