using System.Threading.Channels;
using Isolates.Hosting;
using Isolates.Tests.Support.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Isolates.Tests.Hosting;

/// <summary>A supervised consumer that the host restarts in the middle of a stream loses and duplicates nothing (issue 11, item 2).</summary>
[CancelAfter(90_000)]
public sealed class SupervisedStreamTests
{
    [TestCase(1)]
    [TestCase(64)]
    public async Task Restart_ConsumerFaultsRepeatedlyMidStream_EveryItemForwardedExactlyOnce(int capacity)
    {
        const int Items = 2_000;
        const int FaultEvery = 250;
        var logs = new ListLoggerProvider();
        (IHost started, IIsolateHost isolates) = await TestHost.StartAsync(logs, o =>
        {
            o.AddChannel<int>("input", capacity);
            o.AddChannel<int>("output", capacity: 4_096);
            o.AddIsolate<ForwardingWorker, ForwardingEnds>(
                "forwarder",
                sp =>
                {
                    IIsolateHost host = sp.GetRequiredService<IIsolateHost>();
                    return new ForwardingEnds(host.GetChannel<int>("input").Reader, host.GetChannel<int>("output").Writer, FaultEvery);
                },
                RestartPolicy.OneForOne(maxRestarts: 50, within: TimeSpan.FromMinutes(1)).WithBackoff(TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(5)));
        });
        using IHost host = started;
        ChannelWriter<int> input = isolates.GetChannel<int>("input").Writer;
        ChannelReader<int> output = isolates.GetChannel<int>("output").Reader;

        Task writing = Task.Run(async () =>
        {
            for (int i = 0; i < Items; i++)
            {
                await input.WriteAsync(i);
            }
        });
        var seen = new List<int>(Items);
        using var timeout = new CancellationTokenSource(Wait.Timeout * 2);
        while (seen.Count < Items)
        {
            seen.Add(await output.ReadAsync(timeout.Token));
        }

        await Wait.Bounded(writing);
        int restarts = isolates.GetStatus("forwarder").Restarts;
        await Wait.Bounded(host.StopAsync());

        Assert.Multiple(() =>
        {
            Assert.That(seen.Distinct().Count(), Is.EqualTo(Items), "no item forwarded twice");
            Assert.That(seen.Order(), Is.EqualTo(Enumerable.Range(0, Items)), "every item forwarded once");
            Assert.That(restarts, Is.GreaterThanOrEqualTo(Items / FaultEvery - 1), "the consumer was restarted mid-stream");
        });
    }
}
