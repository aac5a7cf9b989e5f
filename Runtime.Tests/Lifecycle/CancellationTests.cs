using Isolates.Tests.Support;

namespace Isolates.Tests.Lifecycle;

[TestFixture]
[CancelAfter(30_000)]
public class CancellationTests
{
    [Test]
    public async Task CallAsync_AlreadyCancelledToken_CompletesCancelledWithoutRunning()
    {
        await using Isolate iso = await Isolate.CreateAsync();

        Task<int> call = iso.CallAsync(Counter.Bump, new CancellationToken(canceled: true));

        Assert.That(call.IsCanceled, Is.True);
        Assert.That(await iso.CallAsync(Counter.Read), Is.Zero);
    }

    [Test]
    public async Task CallAsync_CancelledWhileQueued_NeverRuns()
    {
        await using Isolate iso = await Isolate.CreateAsync();
        using var cts = new CancellationTokenSource();
        Task blocker = iso.CallAsync(Work.Sleep, 200);
        Task<int> queued = iso.CallAsync(Counter.Bump, cts.Token);

        cts.Cancel();
        await blocker;

        Assert.That(queued.IsCanceled, Is.True);
        Assert.That(await iso.CallAsync(Counter.Read), Is.Zero, "the cancelled call never ran");
    }

    [Test]
    public async Task CallAsync_TokenParameter_IsCancelledInsideTheIsolate()
    {
        await using Isolate iso = await Isolate.CreateAsync();
        using var cts = new CancellationTokenSource();

        Task<int> counting = iso.CallAsync(Work.CountUntilCancelledAsync, cts.Token);
        await Task.Delay(60);
        cts.Cancel();

        Assert.CatchAsync<OperationCanceledException>(() => Wait.Bounded(counting));
        // The isolate saw the cancellation on its own token (its handler added 1000 to its counter).
        int seen = 0;
        for (int i = 0; i < 100 && seen < 1000; i++)
        {
            seen = await iso.CallAsync(Counter.Read);
            await Task.Delay(10);
        }

        Assert.That(seen, Is.EqualTo(1000));
    }

    [Test]
    public async Task CallAsync_TokenParameterWhenIsolateCloses_IsCancelledToo()
    {
        Isolate iso = await Isolate.CreateAsync();
        Task<int> counting = iso.CallAsync(Work.CountUntilCancelledAsync, CancellationToken.None);
        await Task.Delay(30);

        await Wait.Bounded(iso.CloseAsync());

        Assert.CatchAsync<Exception>(() => Wait.Bounded(counting), "the call ends (cancelled or closed), it does not hang");
    }
}
