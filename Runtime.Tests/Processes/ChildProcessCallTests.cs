using Isolates.Tests.Diagnostics;
using Isolates.Tests.Support;

namespace Isolates.Tests.Processes;

/// <summary>Calls into a child-process isolate behave as in-process ones: every shape, values, state, errors, cancellation.</summary>
[TestFixture]
[CancelAfter(120_000)]
[NonParallelizable]
public class ChildProcessCallTests
{
    private Isolate _child = null!;

    [OneTimeSetUp]
    public async Task StartChild() =>
        _child = await Isolate.CreateAsync(new IsolateOptions { Name = "child", Placement = IsolatePlacement.ChildProcess });

    [OneTimeTearDown]
    public async Task CloseChild()
    {
        if (_child is not null)
        {
            await _child.CloseAsync();
        }
    }

    [Test]
    public async Task CallAsync_ChildProcess_RunsInAnotherProcessWithItsOwnStatics()
    {
        int pid = await _child.CallAsync(ChildWork.ProcessId);
        int first = await _child.CallAsync(ChildWork.Bump);
        int second = await _child.CallAsync(ChildWork.Bump);
        Assert.Multiple(() =>
        {
            Assert.That(pid, Is.Not.EqualTo(Environment.ProcessId));
            Assert.That(_child.ProcessId, Is.EqualTo(pid));
            Assert.That(second, Is.EqualTo(first + 1));
            Assert.That(ChildWork.Bump(), Is.EqualTo(1), "the host's own static is untouched");
        });
    }

    [Test]
    public async Task CallAsync_ChildProcess_EveryShapeAndValueCrosses()
    {
        var parcel = new Shipment("box", [1, 2, 3], new DateTimeOffset(2026, 12, 6, 4, 0, 0, TimeSpan.FromHours(1)));
        Shipment echoed = await _child.CallAsync(ChildWork.Echo, parcel);
        Assert.Multiple(async () =>
        {
            Assert.That(echoed.Label, Is.EqualTo("box!"));
            Assert.That(echoed.Items, Is.EqualTo(new[] { 1, 2, 3, 3 }));
            Assert.That(echoed.At, Is.EqualTo(parcel.At));
            Assert.That(await _child.CallAsync(ChildWork.Add, 40, 2), Is.EqualTo(42));
            Assert.That(await _child.CallAsync(ChildWork.DelayedAsync, "abc", 10), Is.EqualTo("ABC"));
            Assert.That(await _child.CallAsync(ChildWork.ValueTaskAsync, 21), Is.EqualTo(42));
            Assert.That(await _child.CallAsync(ChildWork.InIsolate), Is.True, "the child runs the code in an isolate: Isolate.Current is set");
            Assert.That(await _child.CallAsync(static (int x) => x + 1, 1), Is.EqualTo(2));
        });
        await _child.CallAsync(ChildWork.Nothing);
        await _child.CallAsync(ChildWork.NothingAsync);
    }

    [Test]
    public async Task CallAsync_ChildThrows_IsolateExecutionExceptionWithRemoteTypeAndStack()
    {
        var error = Assert.ThrowsAsync<IsolateExecutionException>(() => _child.CallAsync(ChildWork.Throw, "boom"))!;
        Assert.Multiple(async () =>
        {
            Assert.That(error.RemoteType, Is.EqualTo(typeof(InvalidOperationException).FullName));
            Assert.That(error.Message, Is.EqualTo("boom"));
            Assert.That(error.RemoteStackTrace, Does.Contain(nameof(ChildWork.Throw)));
            Assert.That(error.IsolateName, Is.EqualTo("child"));
            Assert.That(await _child.CallAsync(ChildWork.Add, 1, 1), Is.EqualTo(2), "the isolate stays usable");
        });
    }

    [Test]
    public async Task CallAsync_CancelledWhileRunning_TaskCancelledAndTokenCancelledInChild()
    {
        int pid = await _child.CallAsync(ChildWork.ProcessId);
        string marker = Path.Combine(Path.GetTempPath(), $"isolates-child-cancelled-{pid}");
        File.Delete(marker);
        using var cts = new CancellationTokenSource();
        Task<string> waiting = _child.CallAsync(ChildWork.WaitForCancellationAsync, CancellationToken.None, cts.Token);
        await Task.Delay(200);
        cts.Cancel();
        Assert.ThrowsAsync<TaskCanceledException>(() => Wait.Bounded(waiting));
        await Poll.Until(() => File.Exists(marker), "the token cancelled in the child", TimeSpan.FromSeconds(10));
        Assert.That(await _child.CallAsync(ChildWork.Add, 2, 2), Is.EqualTo(4));
    }

    [Test]
    public void CallAsync_ClosureToChild_NotShareableBeforeAnythingIsSent()
    {
        int factor = 3;
        Assert.ThrowsAsync<NotShareableException>(() => _child.CallAsync((int x) => x * factor, 2));
    }
}

/// <summary>Review findings on child-process calls, each with the in-process behaviour as the reference.</summary>
[TestFixture]
[CancelAfter(120_000)]
public class ChildProcessTokenTests
{
    [Test]
    public async Task CallAsync_TokenPassedAsArgumentCancelled_CallCancelledAndTokenCancelledInChild()
    {
        await using Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Placement = IsolatePlacement.ChildProcess });
        int pid = await iso.CallAsync(ChildWork.ProcessId);
        string marker = Path.Combine(Path.GetTempPath(), $"isolates-child-cancelled-{pid}");
        File.Delete(marker);
        using var cts = new CancellationTokenSource();
        Task<string> waiting = iso.CallAsync(ChildWork.WaitForCancellationAsync, cts.Token); // the token is the argument
        await Task.Delay(200);
        cts.Cancel();
        Assert.ThrowsAsync<TaskCanceledException>(() => Wait.Bounded(waiting));
        await Poll.Until(() => File.Exists(marker), "the argument's cancellation to reach the function in the child", TimeSpan.FromSeconds(10));
    }

    [Test]
    public async Task MapAsync_ChildItemFails_LaterItemsOfItsChunkDoNotRun()
    {
        await using IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions
        {
            Size = 1,
            ChunkSize = 40,
            IsolateOptions = new IsolateOptions { Placement = IsolatePlacement.ChildProcess },
        });
        Assert.ThrowsAsync<IsolateExecutionException>(() => Wait.Bounded(pool.MapAsync(Enumerable.Range(0, 40).ToArray(), ChildWork.CountUnlessThirteen)));
        int ran = await pool.SubmitAsync(ChildWork.Counted);
        Assert.That(ran, Is.LessThan(40), "items after the failing one were cancelled, not all run");
    }
}

/// <summary>Channel bridges do not pile up in a long-lived child given a channel per call.</summary>
[TestFixture]
[CancelAfter(120_000)]
public class ChildProcessBridgeLifetimeTests
{
    [Test]
    public async Task CallAsync_ManyCallsEachWithItsOwnChannels_BridgesAreForgottenWhenDone()
    {
        await using Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Placement = IsolatePlacement.ChildProcess });
        for (int call = 0; call < 200; call++)
        {
            System.Threading.Channels.Channel<int> input = IsolateChannel.CreateBounded<int>(8);
            System.Threading.Channels.Channel<int> output = IsolateChannel.CreateBounded<int>(8);
            Task<int> piping = iso.CallAsync(ChildChannelWork.PipeIntsAsync, input.Reader, output.Writer);
            for (int i = 0; i < 3; i++)
            {
                await input.Writer.WriteAsync(i);
            }

            input.Writer.Complete();
            int read = 0;
            await foreach (int item in output.Reader.ReadAllAsync())
            {
                Assert.That(item, Is.EqualTo(read++));
            }

            Assert.That(await Wait.Bounded(piping), Is.EqualTo(3));
        }

        await Poll.Until(() => ((Isolates.Engines.ChildProcessEngine)iso.Engine).Link!.BridgeCount == 0, "every finished bridge to be forgotten", TimeSpan.FromSeconds(10));
    }
}
