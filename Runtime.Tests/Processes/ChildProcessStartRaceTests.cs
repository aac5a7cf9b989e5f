using Isolates.Diagnostics;
using Isolates.Tests.Diagnostics;
using Isolates.Tests.Scheduling;
using Isolates.Tests.Support;

namespace Isolates.Tests.Processes;

/// <summary>
/// A child-process isolate found through <see cref="Isolate.All"/> while its process starts (the facade lists it before
/// its engine starts): a close, a call and a cancelled creation meeting in that window. Every call and every end completes.
/// </summary>
[TestFixture]
[NonParallelizable] // child processes are slow to start on 2 busy cores; several at once only stretch the windows
[CancelAfter(120_000)]
public class ChildProcessStartRaceTests
{
    private static IsolateOptions Child(string name) => new()
    {
        Name = name,
        Placement = IsolatePlacement.ChildProcess,
        CloseTimeout = TimeSpan.FromSeconds(5),
    };

    /// <summary>The isolate named <paramref name="name"/> as listed while its child starts, or null if the start won the race.</summary>
    private static async Task<Isolate?> FindStartingAsync(string name, Task<Isolate> creating)
    {
        Isolate? starting = null;
        await Poll.Until(() => (starting = Isolate.All.FirstOrDefault(i => i.Name == name)) is not null || creating.IsCompleted, "the isolate is listed while it starts");
        return starting is { State: IsolateState.Starting } ? starting : null;
    }

    [Test]
    public async Task CreateAsync_CancelledWhileACloseWaitsForTheChildsStart_IsolateEndsClosedAndReportsItsExit()
    {
        const string Name = "closed-then-cancelled-while-starting";
        using var cancellation = new CancellationTokenSource();
        Task<Isolate> creating = Isolate.CreateAsync(Child(Name), cancellation.Token);
        Isolate? starting = await FindStartingAsync(Name, creating);
        if (starting is null)
        {
            await (await Wait.Bounded(creating)).CloseAsync();
            Assert.Inconclusive("the child started before the close");
        }

        Task closing = starting!.CloseAsync(); // Closing now; the close waits for the start
        cancellation.Cancel();
        try
        {
            Isolate created = await Wait.Bounded(creating);
            await Wait.Bounded(created.CloseAsync());
            Assert.Inconclusive("the child started before the cancellation");
        }
        catch (OperationCanceledException)
        {
            // the start was cut short: the case under test
        }

        await Wait.Bounded(closing);
        Assert.Multiple(() =>
        {
            Assert.That(starting.State, Is.EqualTo(IsolateState.Closed), "an isolate that never started and was closed ends Closed, not left Closing");
            Assert.That(starting.Completion.IsCompletedSuccessfully, Is.True);
            Assert.That(Isolate.All.Any(i => i.Name == Name), Is.False, "it is not listed");
        });

        // It was listed (and counted as spawned), so whoever watches it learns that it ended.
        IsolateExit exit = await Wait.Bounded(starting.Exited);
        Assert.That(exit.Reason, Is.EqualTo(IsolateExitReason.Closed));
    }

    [Test]
    public async Task CallAsync_WaitingForTheChildsStartWhenCloseBegins_FailsClosedWithoutRunning()
    {
        const string Name = "called-then-closed-while-starting";
        Task<Isolate> creating = Isolate.CreateAsync(Child(Name));
        Isolate? starting = await FindStartingAsync(Name, creating);
        if (starting is null)
        {
            await (await Wait.Bounded(creating)).CloseAsync();
            Assert.Inconclusive("the child started before the call");
        }

        // The call waits for the start, as a call to an in-process isolate waits in its queue; a close that begins
        // meanwhile must fail it, as it fails queued calls. Holding the close once the child runs (until the call has
        // completed) lets the waiting call go first: before the fix it was sent to the closing child and ran.
        Task<int>? call = null;
        Task closing;
        var hold = new HoldingScheduler("child.close.started", () => call?.IsCompleted == true, TimeSpan.FromSeconds(10));
        using (Interleave.Install(hold))
        {
            call = starting!.CallAsync(ChildWork.Add, 40, 2);
            closing = starting.CloseAsync();
            try
            {
                await Wait.Bounded(creating);
            }
            catch (IsolateClosedException)
            {
                // refused: also sound
            }

            await Wait.Bounded(closing);
        }

        Assert.That(hold.Held, Is.True, "the close reached the child once it ran");
        IsolateClosedException? closed = Assert.CatchAsync<IsolateClosedException>(() => Wait.Bounded(call), "a call still waiting for the start when the close began fails as closed");
        Assert.That(closed!.NotStarted, Is.True, "it never reached the child: " + closed.Message);
    }
}
