using System.Threading.Channels;
using Isolates.Tests.Diagnostics;
using Isolates.Tests.Support;

namespace Isolates.Tests.Calls;

/// <summary>Adversarial cases of calls whose calling isolate closes (see CallerCloseTests for the ordinary ones).</summary>
[TestFixture]
[CancelAfter(60_000)]
public class CallerCloseAdversaryTests
{
    /// <summary>
    /// Code of an isolate that has closed completely (its thread ended, its context retired) still runs on the pool and
    /// makes a call: it used to look like the host's call (the context no longer named its isolate), so the call went
    /// through and could keep the closed context loaded for as long as the called function ran.
    /// </summary>
    [Test]
    public async Task CallAsync_FromAClosedIsolatesCodeOnThePool_AfterItsThreadEnded_FailsAtOnceNamingIt()
    {
        await using Isolate callee = await Isolate.CreateAsync(new IsolateOptions { Name = "callee-" + Guid.NewGuid().ToString("N") });
        Isolate caller = await Isolate.CreateAsync(new IsolateOptions { Name = "caller-" + Guid.NewGuid().ToString("N"), UnloadTimeout = TimeSpan.FromMilliseconds(200) });
        Channel<int> go = IsolateChannel.CreateUnbounded<int>();
        Channel<string> outcome = IsolateChannel.CreateUnbounded<string>();
        await caller.CallAsync(CallerCloseAdversaryFunctions.CallLaterFromThePool, go.Reader, outcome.Writer, callee.Name);

        await Wait.Bounded(caller.CloseAsync());
        await Wait.Bounded(caller.Unloaded); // its context retired (Leaked: its code on the pool still runs)
        go.Writer.TryWrite(1);

        string result = await Wait.Bounded(outcome.Reader.ReadAsync().AsTask());
        Assert.That(result, Does.StartWith("failed at once: IsolateClosedException").And.Contain(caller.Name));
        Assert.That(await callee.CallAsync(CallerCloseFunctions.Waiting), Is.Zero, "the call never reached the called isolate");
    }
}
