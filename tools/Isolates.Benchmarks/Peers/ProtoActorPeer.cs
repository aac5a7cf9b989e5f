using Proto;

namespace Isolates.Benchmarks.Peers;

/// <summary>
/// Proto.Actor with its defaults (thread-pool dispatcher, unbounded mailbox, shared futures for requests): an echo
/// actor answered with <c>RequestAsync</c>, and a producer actor that <c>Send</c>s ints to a counting actor.
/// </summary>
internal sealed class ProtoActorPeer : IActorPeer
{
    private static readonly Props EchoProps = Props.FromProducer(() => new Echo());

    private readonly ActorSystem _system = new();
    private readonly PID _echo;
    private PID? _spawned;

    public ProtoActorPeer() => _echo = _system.Root.Spawn(EchoProps);

    public string Name => "Proto.Actor " + PeerVersion.Of(typeof(ActorSystem));

    public string RequestName => "await RequestAsync<int>(pid, int)";

    public Task<int> RequestAsync(int value) => _system.Root.RequestAsync<int>(_echo, value);

    public Task<int> SpawnAndRequestAsync(int value)
    {
        _spawned = _system.Root.Spawn(EchoProps);
        return _system.Root.RequestAsync<int>(_spawned, value);
    }

    public async Task StopSpawnedAsync()
    {
        if (_spawned is { } pid)
        {
            _spawned = null;
            await _system.Root.StopAsync(pid);
        }
    }

    public async Task<long> StreamAsync(int messages)
    {
        var done = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        PID counter = _system.Root.Spawn(Props.FromProducer(() => new Counter(messages, done)));
        PID producer = _system.Root.Spawn(Props.FromProducer(() => new Producer(counter, messages)));
        try
        {
            return await done.Task;
        }
        finally
        {
            await _system.Root.StopAsync(producer);
            await _system.Root.StopAsync(counter);
        }
    }

    public async ValueTask DisposeAsync() => await _system.ShutdownAsync("benchmark over");

    private sealed class Echo : IActor
    {
        public Task ReceiveAsync(IContext context)
        {
            if (context.Message is int value)
            {
                context.Respond(value);
            }

            return Task.CompletedTask;
        }
    }

    private sealed class Producer(PID target, int messages) : IActor
    {
        public Task ReceiveAsync(IContext context)
        {
            if (context.Message is Started)
            {
                for (int i = 0; i < messages; i++)
                {
                    context.Send(target, i);
                }
            }

            return Task.CompletedTask;
        }
    }

    private sealed class Counter(int expected, TaskCompletionSource<long> done) : IActor
    {
        private long _sum;
        private int _count;

        public Task ReceiveAsync(IContext context)
        {
            if (context.Message is int value)
            {
                _sum += value;
                if (++_count == expected)
                {
                    done.TrySetResult(_sum);
                }
            }

            return Task.CompletedTask;
        }
    }
}
