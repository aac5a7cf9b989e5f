using Isolates.Tests.Diagnostics;
using Isolates.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Isolates.Tests.Lifecycle;

/// <summary>IsolateOptions.WarmUp: code run in an isolate before it is handed out, by CreateAsync, spares and pools.</summary>
[TestFixture]
[CancelAfter(60_000)]
[NonParallelizable] // KeepWarm's spares are process-wide
public class WarmUpTests
{
    private static readonly IsolateOptions Warmed = new() { WarmUp = [WarmUpFunctions.Prepare, WarmUpFunctions.PrepareAsync] };

    [TearDown]
    public async Task StopKeepingSpares()
    {
        await Wait.Bounded(Isolate.KeepWarm(0, Warmed));
        await Wait.Bounded(Isolate.KeepWarm(0, new IsolateOptions { WarmUp = [WarmUpFunctions.Fail] }));
        await Wait.Bounded(Isolate.KeepWarm(0));
    }

    [Test]
    public async Task CreateAsync_WithWarmUp_RunsItOnceInOrderBeforeTheFirstCallAndItsStaticsStay()
    {
        await using Isolate isolate = await Wait.Bounded(Isolate.CreateAsync(Warmed));

        Assert.That(await isolate.CallAsync(WarmUpFunctions.Order), Is.EqualTo("prepare;async;"), "both ran, in order, before CreateAsync returned");
        Assert.That(await isolate.CallAsync(WarmUpFunctions.Runs), Is.EqualTo(1));
        Assert.That(await isolate.CallAsync(WarmUpFunctions.Runs), Is.EqualTo(1), "once per isolate, not per call");
    }

    [Test]
    public async Task CreateAsync_WarmUpThatReturnsAValue_RunsItAndDiscardsTheResult()
    {
        await using Isolate isolate = await Wait.Bounded(Isolate.CreateAsync(new IsolateOptions { WarmUp = [Counter.Bump, WarmUpFunctions.RunsAsync] }));

        Assert.That(await isolate.CallAsync(Counter.Bump), Is.EqualTo(2), "the warm-up was the same function, called once before");
        Assert.That(await isolate.CallAsync(WarmUpFunctions.Order), Is.EqualTo("runs-async;"));
    }

    [Test]
    public async Task CreateAsync_WarmUpThrows_FailsWithTheRemoteErrorAndClosesTheIsolate()
    {
        var error = Assert.ThrowsAsync<IsolateExecutionException>(() => Wait.Bounded(Isolate.CreateAsync(new IsolateOptions { Name = "failing-warm-up", WarmUp = [WarmUpFunctions.Fail] })));

        Assert.That(error!.RemoteType, Does.Contain(nameof(InvalidOperationException)));
        Assert.That(error.Message, Does.Contain("warm-up failed on purpose"));
        await Poll.Until(() => Isolate.All.All(i => i.Name != "failing-warm-up"), "the isolate whose warm-up failed to close");
    }

    [Test]
    public async Task CreateAsync_CancelledDuringWarmUp_IsCancelledAndTheIsolateCloses()
    {
        using var cancellation = new CancellationTokenSource();
        Task<Isolate> creating = Isolate.CreateAsync(new IsolateOptions { Name = "cancelled-warm-up", WarmUp = [WarmUpFunctions.UntilClosedAsync] }, cancellation.Token);
        await Poll.Until(() => Isolate.All.Any(i => i.Name == "cancelled-warm-up"), "the isolate to start");
        Isolate isolate = Isolate.All.Single(i => i.Name == "cancelled-warm-up");
        await Task.Delay(50);
        Assert.That(creating.IsCompleted, Is.False, "CreateAsync waits for the warm-up");

        await cancellation.CancelAsync();

        Assert.CatchAsync<OperationCanceledException>(() => Wait.Bounded(creating));
        await Wait.Bounded(isolate.Completion);
        Assert.That(isolate.State, Is.EqualTo(IsolateState.Closed));
    }

    [Test]
    public void CreateAsync_WarmUpOfAnotherShapeOrAClosure_FailsAtOnceNamingWarmUp()
    {
        var wrongShape = Assert.Throws<ArgumentException>(() => Isolate.CreateAsync(new IsolateOptions { WarmUp = [(Func<int, int>)Work.Identity] }));
        Assert.That(wrongShape!.ParamName, Is.EqualTo(nameof(IsolateOptions.WarmUp)));
        Assert.That(wrongShape.Message, Does.Contain("WarmUp[0]").And.Contain("takes no arguments"));

        var nullEntry = Assert.Throws<ArgumentException>(() => Isolate.CreateAsync(new IsolateOptions { WarmUp = [WarmUpFunctions.Prepare, null!] }));
        Assert.That(nullEntry!.Message, Does.Contain("WarmUp[1] is null"));

        Assert.Throws<ArgumentNullException>(() => Isolate.CreateAsync(new IsolateOptions { WarmUp = null! }));

        int captured = 3;
        Assert.Throws<NotShareableException>(() => Isolate.CreateAsync(new IsolateOptions { WarmUp = [() => Console.WriteLine(captured)] }));
    }

    [Test]
    public async Task KeepWarm_WithWarmUp_HandsOutSparesThatRanItOnceAndKeepsOptionsApart()
    {
        await Isolate.KeepWarm(1, Warmed);
        await Isolate.KeepWarm(1);
        await Poll.Until(() => Isolate.WarmCount == 2, "a spare of each kind");

        await using Isolate warmed = await Isolate.CreateAsync(Warmed with { Name = "warmed-spare" });
        await using Isolate plain = await Isolate.CreateAsync(new IsolateOptions { Name = "plain-spare" });
        await using Isolate pinned = await Isolate.CreateAsync(Warmed with { Collectible = false });

        Assert.That(await warmed.CallAsync(WarmUpFunctions.Order), Is.EqualTo("prepare;async;"));
        Assert.That(await warmed.CallAsync(WarmUpFunctions.Runs), Is.EqualTo(1), "warmed once, in the background");
        Assert.That(warmed.Name, Is.EqualTo("warmed-spare"));
        Assert.That(await plain.CallAsync(WarmUpFunctions.Runs), Is.Zero, "a spare without warm-up is not given to a creation that asked for one, nor the reverse");
        Assert.That(await pinned.CallAsync(WarmUpFunctions.Runs), Is.EqualTo(1), "built with its own warm-up");
        Assert.That(pinned.Options.Collectible, Is.False);
    }

    [Test]
    public async Task KeepWarm_SameWarmUpInAnotherOrder_IsADifferentSpare()
    {
        await Isolate.KeepWarm(1, Warmed);
        await Poll.Until(() => Isolate.WarmCount == 1, "the spare");

        await using Isolate reversed = await Isolate.CreateAsync(new IsolateOptions { WarmUp = [WarmUpFunctions.PrepareAsync, WarmUpFunctions.Prepare] });

        Assert.That(await reversed.CallAsync(WarmUpFunctions.Order), Is.EqualTo("async;prepare;"));
        Assert.That(Isolate.WarmCount, Is.EqualTo(1), "the spare of the other order is still there");
    }

    [Test]
    public async Task KeepWarm_SpareWarmUpThrows_IsLoggedAndNeverHandedOut()
    {
        using var logs = new ListLoggerProvider();
        using ILoggerFactory factory = LoggerFactory.Create(builder => builder.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        var failing = new IsolateOptions { WarmUp = [WarmUpFunctions.Fail], LoggerFactory = factory };

        await Isolate.KeepWarm(1, failing);
        await Poll.Until(() => logs.EventIds.Contains(9), "the failed warm-up to be logged");

        Assert.That(Isolate.WarmCount, Is.Zero);
        Assert.That(logs.Messages, Has.Some.Contains("warm-up threw"));
        Assert.ThrowsAsync<IsolateExecutionException>(() => Wait.Bounded(Isolate.CreateAsync(failing)));
    }

    [Test]
    public async Task KeepWarm_LoweredWhileASpareWarmsUp_ClosesIt()
    {
        await Isolate.KeepWarm(1, Warmed);
        await Isolate.KeepWarm(0, Warmed);
        await Task.Delay(200);

        Assert.That(Isolate.WarmCount, Is.Zero);
    }

    [Test]
    public void KeepWarm_InvalidOptions_FailsNamingTheOption()
    {
        Assert.Throws<ArgumentException>(() => Isolate.KeepWarm(1, new IsolateOptions { WarmUp = [(Action<int>)Counter.Add] }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Isolate.KeepWarm(65, Warmed));
    }

    [Test]
    public async Task Pool_WithWarmUp_WarmsEveryIsolateAndItsReplacements()
    {
        await using IsolatePool pool = await Wait.Bounded(IsolatePool.CreateAsync(new IsolatePoolOptions { Size = 1, Name = "warmed-pool", IsolateOptions = Warmed }));
        Assert.That(await pool.SubmitAsync(WarmUpFunctions.Runs), Is.EqualTo(1));

        await Wait.Bounded(pool.Isolates[0].CloseAsync()); // not the pool's doing: it replaces the isolate
        await Poll.Until(() => pool.Replacements == 1 && pool.Isolates.Count == 1 && pool.Isolates[0].State == IsolateState.Running, "the replacement");

        Assert.That(await Wait.Bounded(pool.SubmitAsync(WarmUpFunctions.Order)), Is.EqualTo("prepare;async;"), "the replacement ran the warm-up too");
    }
}
