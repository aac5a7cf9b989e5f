using System.Threading.Channels;
using Isolates.Hosting;
using Isolates.Tests.Support;
using Isolates.Tests.Support.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Isolates.Tests.Hosting;

/// <summary>The one logging rule in the host: a logger that throws cannot stop a start, a restart, a replacement or a stop.</summary>
[CancelAfter(60_000)]
public sealed class HostLoggingTests
{
    [Test]
    public async Task Fault_LoggerThrowsOnEveryCall_WorkerRestartedPoolSlotReplacedAndStopCompletes()
    {
        int exitCode = Environment.ExitCode; // a supervisor that fails sets it; do not leave it set for the test run
        try
        {
            var logs = new ListLoggerProvider();
            var throwing = new ThrowingLoggerProvider("Isolates."); // the generic host's own logging would throw too
            (IHost started, IIsolateHost isolates) = await TestHost.StartAsync(
                logs,
                o =>
                {
                    o.AddPool("scoring", size: 1);
                    o.AddChannel<int>("commands", capacity: 8).AddIsolate<ScriptedWorker, ChannelReader<int>>("scripted", TestHost.Commands, TestHost.Fast());
                },
                services: s => s.AddSingleton<ILoggerProvider>(throwing));
            using IHost host = started;
            long firstId = isolates.GetStatus("scripted").Isolate!.Id;

            await isolates.GetChannel<int>("commands").Writer.WriteAsync(WorkerCommand.Throw);
            await TestHost.WaitUntilAsync(() => isolates.GetStatus("scripted") is { Restarts: 1, State: SupervisedIsolateState.Running }, "the worker restarted");
            IsolatePool scoring = isolates.GetPool("scoring");
            Assert.CatchAsync<IsolateClosedException>(() => Wait.Bounded(scoring.SubmitAsync(PoolWork.CrashOnMinusOneAsync, -1)));
            Assert.That(await Wait.Bounded(scoring.SubmitAsync(PoolWork.Square, 7)), Is.EqualTo(49), "the pool's slot was replaced");

            await Wait.Bounded(host.StopAsync());

            Assert.Multiple(() =>
            {
                Assert.That(isolates.GetStatus("scripted").Isolate?.Id, Is.Not.EqualTo(firstId));
                Assert.That(isolates.GetStatus("scripted").State, Is.EqualTo(SupervisedIsolateState.Stopped));
                Assert.That(scoring.Replacements, Is.EqualTo(1));
                Assert.That(throwing.Calls, Is.GreaterThan(0), "the throwing logger was called");
                Assert.That(logs.EventIds, Does.Contain(30).And.Contain(32).And.Contain(33).And.Contain(41), "the other providers still get every event");
                Assert.That(Environment.ExitCode, Is.EqualTo(exitCode), "no supervisor failed");
            });
        }
        finally
        {
            Environment.ExitCode = exitCode;
        }
    }
}
