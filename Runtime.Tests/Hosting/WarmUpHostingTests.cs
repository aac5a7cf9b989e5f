using System.Threading.Channels;
using Isolates.Hosting;
using Isolates.Tests.Support;
using Isolates.Tests.Support.Hosting;
using Microsoft.Extensions.Hosting;

namespace Isolates.Tests.Hosting;

/// <summary>IsolateOptions.WarmUp through the host: supervised workers (and their restarts) and pools run it.</summary>
[TestFixture]
[CancelAfter(60_000)]
public class WarmUpHostingTests
{
    private static readonly IsolateOptions Warmed = new() { WarmUp = [WarmUpFunctions.Prepare] };

    [Test]
    public async Task AddIsolateAndAddPool_WithWarmUp_EveryIsolateIncludingARestartRanItOnce()
    {
        var logs = new ListLoggerProvider();
        (IHost started, IIsolateHost isolates) = await TestHost.StartAsync(logs, o => o
            .AddChannel<int>("commands", capacity: 8)
            .AddIsolate<ScriptedWorker, ChannelReader<int>>("scripted", TestHost.Commands, TestHost.Fast(), Warmed)
            .AddPool("warmed", new IsolatePoolOptions { Size = 1, IsolateOptions = Warmed }));
        using IHost host = started;

        Assert.That(await Wait.Bounded(isolates.GetStatus("scripted").Isolate!.CallAsync(WarmUpFunctions.Runs)), Is.EqualTo(1));
        Assert.That(await Wait.Bounded(isolates.GetPool("warmed").SubmitAsync(WarmUpFunctions.Runs)), Is.EqualTo(1));

        await isolates.GetChannel<int>("commands").Writer.WriteAsync(WorkerCommand.Throw);
        await TestHost.WaitUntilAsync(() => isolates.GetStatus("scripted") is { Restarts: 1, State: SupervisedIsolateState.Running }, "the worker restarted");

        Assert.That(await Wait.Bounded(isolates.GetStatus("scripted").Isolate!.CallAsync(WarmUpFunctions.Runs)), Is.EqualTo(1), "the restart's fresh isolate ran the warm-up too");
        await Wait.Bounded(host.StopAsync());
    }
}
