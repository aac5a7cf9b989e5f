using Akka.Actor;
using Akka.Configuration;

namespace Isolates.Benchmarks.Peers;

/// <summary>
/// Akka.NET with its default dispatcher (the .NET thread pool) and default unbounded mailbox, logging turned down so it
/// prints nothing: an echo actor answered with <c>Ask</c>, and a producer actor that <c>Tell</c>s ints to a counting actor.
/// </summary>
internal sealed class AkkaPeer : IActorPeer
{
    private static readonly Config Quiet = ConfigurationFactory.ParseString("""
        akka.loglevel = WARNING
        akka.stdout-loglevel = WARNING
        akka.log-dead-letters = off
        akka.log-dead-letters-during-shutdown = off
        akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
        """);

    private static readonly Props EchoProps = Props.Create<Echo>();

    private readonly ActorSystem _system = ActorSystem.Create("peers", Quiet);
    private readonly IActorRef _echo;
    private IActorRef? _spawned;

    public AkkaPeer() => _echo = _system.ActorOf(EchoProps);

    public string Name => "Akka.NET " + PeerVersion.Of(typeof(ActorSystem));

    public string RequestName => "await Ask<int>(int)";

    public Task<int> RequestAsync(int value) => _echo.Ask<int>(value);

    public Task<int> SpawnAndRequestAsync(int value)
    {
        _spawned = _system.ActorOf(EchoProps);
        return _spawned.Ask<int>(value);
    }

    public async Task StopSpawnedAsync()
    {
        if (_spawned is { } actor)
        {
            _spawned = null;
            await actor.GracefulStop(TimeSpan.FromSeconds(10));
        }
    }

    public async Task<long> StreamAsync(int messages)
    {
        var done = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        IActorRef counter = _system.ActorOf(Props.Create(() => new Counter(messages, done)));
        IActorRef producer = _system.ActorOf(Props.Create(() => new Producer(counter, messages)));
        try
        {
            return await done.Task;
        }
        finally
        {
            await producer.GracefulStop(TimeSpan.FromSeconds(10));
            await counter.GracefulStop(TimeSpan.FromSeconds(10));
        }
    }

    public async ValueTask DisposeAsync() => await _system.Terminate();

    private sealed class Echo : UntypedActor
    {
        protected override void OnReceive(object message) => Sender.Tell(message, Self);
    }

    private sealed class Producer(IActorRef target, int messages) : UntypedActor
    {
        protected override void PreStart()
        {
            for (int i = 0; i < messages; i++)
            {
                target.Tell(i, Self);
            }
        }

        protected override void OnReceive(object message) => Unhandled(message);
    }

    private sealed class Counter(int expected, TaskCompletionSource<long> done) : UntypedActor
    {
        private long _sum;
        private int _count;

        protected override void OnReceive(object message)
        {
            if (message is int value)
            {
                _sum += value;
                if (++_count == expected)
                {
                    done.TrySetResult(_sum);
                }
            }
        }
    }
}
