using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Isolates.Hosting.Diagnostics;
using Isolates.Hosting.Registrations;
using Isolates.Hosting.Supervision;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SafeLogger = Isolates.Diagnostics.SafeLogger;

namespace Isolates.Hosting;

/// <summary>
/// The host's owner of every configured isolate: the <see cref="IHostedService"/> that starts and stops them and the
/// <see cref="IIsolateHost"/> users query. One singleton per service provider.
/// </summary>
internal sealed partial class IsolateHost : IIsolateHost, IHostedService, IDisposable, IAsyncDisposable
{
    private const int Created = 0;
    private const int Starting = 1;
    private const int Started = 2;
    private const int Stopping = 3;
    private const int Stopped = 4;

    private readonly IsolateHostOptions _options;
    private readonly IServiceProvider _services;
    private readonly ILoggerFactory? _loggerFactory;
    private readonly IHostApplicationLifetime? _lifetime;
    private readonly TimeSpan _shutdownTimeout;
    private readonly Dictionary<string, IsolatePool> _pools = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HostChannel> _channels;
    private readonly List<SupervisedWorker> _workers;
    private readonly List<SupervisorGroup> _groups = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _retiring = []; // also the lock for itself and for the Started -> Stopping step
    private int _phase;
    private int _leaked;
    private Task? _stopTask;

    /// <summary>Completes when <see cref="StartAsync"/> has finished, whichever way: a stop asked for meanwhile waits for it.</summary>
    private readonly TaskCompletionSource _startFinished = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IsolateHost(IsolateHostOptions options, IServiceProvider services)
    {
        _options = options;
        _services = services;
        _loggerFactory = services.GetService<ILoggerFactory>();
        // The runtime's one logging rule: a logger that throws cannot stop a start, a restart or a stop.
        Logger = SafeLogger.Create(_loggerFactory, "Isolates.Hosting");
        Time = services.GetService<TimeProvider>() ?? TimeProvider.System;
        _lifetime = services.GetService<IHostApplicationLifetime>();
        _shutdownTimeout = services.GetService<IOptions<HostOptions>>()?.Value.ShutdownTimeout ?? TimeSpan.FromSeconds(30);
        _channels = options.Channels.ToDictionary(c => c.Name, c => c.Create(), StringComparer.Ordinal);
        _workers = [.. options.Workers.Select(w => new SupervisedWorker(w))];
        Metrics = new HostingMetrics(services.GetService<IMeterFactory>(), () => _workers.Count(w => w.State == SupervisedIsolateState.Running));

        // One supervisor per one-for-one (or never-restarted) isolate, one per all-for-one or rest-for-one group, in
        // registration order (a group's members keep their registration order: rest-for-one depends on it).
        foreach (SupervisedWorker worker in _workers)
        {
            RestartPolicy policy = worker.Registration.Policy;
            if (policy.Group is null)
            {
                _groups.Add(new SupervisorGroup(this, policy, [worker]));
            }
            else if (!_groups.Any(g => g.Members[0].Registration.Policy.Group == policy.Group))
            {
                _groups.Add(new SupervisorGroup(this, policy, [.. _workers.Where(w => w.Registration.Policy.Group == policy.Group)]));
            }
        }
    }

    /// <summary>The host's logger; never throws (<see cref="SafeLogger"/>), so call sites need no guard.</summary>
    internal ILogger Logger { get; }

    internal TimeProvider Time { get; }

    internal HostingMetrics Metrics { get; }

    /// <summary>How many isolates this host closed that failed to unload (supervised and pool isolates).</summary>
    internal int LeakedIsolates => Volatile.Read(ref _leaked);

    public IsolatePool GetPool(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (!_options.Pools.Any(p => p.Name == name))
        {
            throw new ArgumentException($"No pool named '{name}' is configured (configured pools: {Names(_options.Pools.Select(p => p.Name))}). Add it with services.AddIsolates(o => o.AddPool(\"{name}\", size)).", nameof(name));
        }

        int phase = Volatile.Read(ref _phase);
        if (phase < Started)
        {
            throw new InvalidOperationException($"Pool '{name}' is created when the host starts; call GetPool after IHost.StartAsync (for example in a BackgroundService's ExecuteAsync), not while services are being built.");
        }

        if (phase > Started)
        {
            throw new ObjectDisposedException(nameof(IIsolateHost), $"The host has stopped and pool '{name}' was closed with it.");
        }

        return _pools[name];
    }

    public Channel<T> GetChannel<T>(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (!_channels.TryGetValue(name, out HostChannel? channel))
        {
            throw new ArgumentException($"No channel named '{name}' is configured (configured channels: {Names(_channels.Keys)}). Add it with services.AddIsolates(o => o.AddChannel<{typeof(T).Name}>(\"{name}\", capacity)).", nameof(name));
        }

        return channel is HostChannel<T> typed
            ? typed.Channel
            : throw new ArgumentException($"Channel '{name}' carries {channel.ElementType.FullName}, not {typeof(T).FullName}; call GetChannel<{channel.ElementType.Name}>(\"{name}\").", nameof(name));
    }

    public IsolateStatus GetStatus(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return _workers.FirstOrDefault(w => w.Name == name)?.Snapshot()
            ?? throw new ArgumentException($"No supervised isolate named '{name}' is configured (configured: {Names(_workers.Select(w => w.Name))}).", nameof(name));
    }

    public IReadOnlyList<IsolateStatus> GetStatuses() => [.. _workers.Select(w => w.Snapshot())];

    public void Dispose()
    {
        Metrics.Dispose();
        _stopping.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        // A host disposed without being stopped must not leave isolates running; one disposed while it stops waits for
        // that stop to finish (StopAsync returns the stop in progress).
        await StopAsync(CancellationToken.None).ConfigureAwait(false);

        Dispose();
    }

    private static string Names(IEnumerable<string> names)
    {
        string list = string.Join(", ", names.Select(n => $"'{n}'"));
        return list.Length == 0 ? "none" : list;
    }
}
