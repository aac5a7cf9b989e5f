using Isolates.Tests.Diagnostics;
using Isolates.Tests.Support;

namespace Isolates.Tests.Calls;

/// <summary>
/// A call from one isolate into another that is still running when the calling isolate closes: the caller's task fails
/// with IsolateClosedException, and nothing of the closed caller stays referenced by the called isolate's work.
/// </summary>
[TestFixture]
[CancelAfter(60_000)]
public class CallerCloseTests
{
    [Test]
    public async Task CallAsync_StillRunningWhenTheCallingIsolateCloses_DoesNotPinItsContext()
    {
        await using Isolate callee = await CreateCalleeAsync();
        Isolate caller = await CreateCallerAsync();
        Task<int> waiting = caller.CallAsync(CallerCloseFunctions.CallAndWaitAsync, callee.Name);
        await WaitUntilRunningAsync(callee);

        await caller.CloseAsync();

        Assert.That(await Wait.Bounded(caller.Unloaded), Is.EqualTo(UnloadStatus.Unloaded), caller.UnloadDiagnostic);
        Assert.That(async () => await Wait.Bounded(waiting), Throws.InstanceOf<IsolateClosedException>());
        Assert.That(await callee.CallAsync(CallerCloseFunctions.Waiting), Is.EqualTo(1), "the called function is still running");
    }

    [Test]
    public async Task CallAsync_FromTheCallersCodeOnThePool_StillRunningWhenItCloses_DoesNotPinItsContext()
    {
        await using Isolate callee = await CreateCalleeAsync();
        Isolate caller = await CreateCallerAsync();
        Task<int> waiting = caller.CallAsync(CallerCloseFunctions.CallFromThePoolAndWaitAsync, callee.Name);
        await WaitUntilRunningAsync(callee);

        await caller.CloseAsync();

        Assert.That(await Wait.Bounded(caller.Unloaded), Is.EqualTo(UnloadStatus.Unloaded), caller.UnloadDiagnostic);
        Assert.That(async () => await Wait.Bounded(waiting), Throws.InstanceOf<IsolateClosedException>());
    }

    [Test]
    public async Task CallAsync_CancelledByTheCallingIsolate_ThenItCloses_DoesNotPinItsContext()
    {
        await using Isolate callee = await CreateCalleeAsync();
        Isolate caller = await CreateCallerAsync();

        Assert.That(await Wait.Bounded(caller.CallAsync(CallerCloseFunctions.CallAndCancelAsync, callee.Name)), Is.EqualTo("cancelled"));
        await caller.CloseAsync();

        Assert.That(await Wait.Bounded(caller.Unloaded), Is.EqualTo(UnloadStatus.Unloaded), caller.UnloadDiagnostic);
        Assert.That(await callee.CallAsync(CallerCloseFunctions.Waiting), Is.EqualTo(1), "the called function is still running");
    }

    [Test]
    public async Task CallAsync_WithATokenParameter_CallingIsolateCloses_CancelsTheTokenInTheCalledIsolate()
    {
        await using Isolate callee = await CreateCalleeAsync();
        Isolate caller = await CreateCallerAsync();
        Task<int> waiting = caller.CallAsync(CallerCloseFunctions.CallWithTokenAndWaitAsync, callee.Name);
        await WaitUntilRunningAsync(callee);

        await caller.CloseAsync();

        await Poll.Until(() => callee.CallAsync(CallerCloseFunctions.SawCancellation).Result == 1, "the called function's token to be cancelled");
        Assert.That(await Wait.Bounded(caller.Unloaded), Is.EqualTo(UnloadStatus.Unloaded), caller.UnloadDiagnostic);
        Assert.That(async () => await Wait.Bounded(waiting), Throws.InstanceOf<IsolateClosedException>());
    }

    [Test]
    public async Task CallAsync_FromTheHost_StillRunsToItsEnd_AndFailsOnlyWhenTheCalledIsolateCloses()
    {
        Isolate callee = await CreateCalleeAsync();
        Task<int> waiting = callee.CallAsync(CallerCloseFunctions.WaitForeverAsync);
        await WaitUntilRunningAsync(callee);

        Assert.That(waiting.IsCompleted, Is.False, "a call from the host has no calling isolate to close");
        await callee.CloseAsync();

        Assert.That(async () => await Wait.Bounded(waiting), Throws.InstanceOf<IsolateClosedException>());
    }

    private static Task<Isolate> CreateCalleeAsync() => Isolate.CreateAsync(new IsolateOptions { Name = "callee-" + Guid.NewGuid().ToString("N") });

    private static Task<Isolate> CreateCallerAsync() => Isolate.CreateAsync(new IsolateOptions { UnloadTimeout = TimeSpan.FromSeconds(5) });

    private static Task WaitUntilRunningAsync(Isolate callee) =>
        Poll.Until(() => callee.CallAsync(CallerCloseFunctions.Waiting).Result == 1, "the call to be running in the called isolate");
}
