using System.Collections.Concurrent;
using System.Diagnostics;
using Isolates.Processes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Configuration;
using Orleans.Runtime;

namespace Isolates.Orleans;

/// <summary>
/// The isolate pools of one silo, by name: created when the silo starts (an initializer that throws fails the
/// start), disposed when it stops (before its grains are deactivated, so a chunk the pool cuts short is answered
/// as lost while the silo can still answer).
/// </summary>
internal sealed class SiloIsolatePools : ILifecycleParticipant<ISiloLifecycle>
{
    private readonly Dictionary<string, IsolatePoolOptions> _registered = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IsolatePool> _pools = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _chunksServed = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<FunctionKey, SiloFunction> _functions = new();
    private readonly ILogger _logger;
    private readonly string _silo;
    private int _running;

    public SiloIsolatePools(IEnumerable<IsolatePoolRegistration> registrations, ILocalSiloDetails? silo = null, ILoggerFactory? loggerFactory = null, IOptions<SiloMessagingOptions>? messaging = null)
    {
        MaxMessageBytes = messaging?.Value.MaxMessageBodySize ?? new SiloMessagingOptions().MaxMessageBodySize;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Isolates.Orleans");
        _silo = silo?.SiloAddress.ToString() ?? "this silo";
        foreach (IsolatePoolRegistration registration in registrations)
        {
            if (!_registered.TryAdd(registration.Name, registration.Options))
            {
                throw new InvalidOperationException($"An isolate pool named '{registration.Name}' is added to this silo twice; call AddIsolatePool once per name.");
            }
        }
    }

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(SiloIsolatePools), ServiceLifecycleStage.Active, StartAsync, StopAsync);

    /// <summary>This silo's Orleans message body limit: what it sends and receives must stay under it.</summary>
    public long MaxMessageBytes { get; }

    public int SizeOf(string name) => _pools.TryGetValue(name, out IsolatePool? pool) ? pool.Size : 0;

    /// <summary>How many chunks this silo's pool of that name has run (tests and the benchmark read it).</summary>
    public long ChunksServed(string name) => _chunksServed.TryGetValue(name, out long count) ? count : 0;

    public IsolatePool? PoolOf(string name) => _pools.TryGetValue(name, out IsolatePool? pool) ? pool : null;

    /// <summary>Chunks running on this silo now, of every pool (tests see cancellation arrive through it).</summary>
    public int RunningChunks => Volatile.Read(ref _running);

    private async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach ((string name, IsolatePoolOptions options) in _registered)
        {
            IsolatePool pool = await IsolatePool.CreateAsync(options.Name is null ? options with { Name = name } : options, cancellationToken).ConfigureAwait(false);
            _pools[name] = pool;
            Log.SiloPoolStarted(_logger, name, pool.Size, _silo);
        }
    }

    private async Task StopAsync(CancellationToken cancellationToken)
    {
        foreach ((string name, IsolatePool pool) in _pools)
        {
            // Remove first: a chunk arriving now is answered "not run" and goes to another silo.
            _pools.TryRemove(name, out _);
            await pool.DisposeAsync().ConfigureAwait(false);
            Log.SiloPoolStopped(_logger, name, _silo);
        }
    }

    public async Task<ChunkReply> RunChunkAsync(string name, ChunkRequest request, CancellationToken cancellationToken)
    {
        if (!_pools.TryGetValue(name, out IsolatePool? pool))
        {
            return new ChunkReply { Outcome = ChunkOutcome.NotRun, Reason = $"silo {_silo} has no running isolate pool named '{name}'" };
        }

        _chunksServed.AddOrUpdate(name, 1, static (_, n) => n + 1);
        SiloFunction function;
        try
        {
            function = _functions.GetOrAdd(FunctionKey.Of(request), static (_, r) => SiloFunction.Resolve(r), request);
        }
        catch (Exception ex)
        {
            return new ChunkReply { Outcome = ChunkOutcome.Failed, Error = RemoteError.Encode(ex, 0, name), IsolateName = name };
        }

        Activity? previous = Activity.Current;
        Activity? activity = null;
        if (request.TraceParent is { } traceParent && ClusterTelemetry.Source.HasListeners())
        {
            activity = ClusterTelemetry.Source.StartActivity("isolates.cluster.chunk", ActivityKind.Server, traceParent);
            activity?.SetTag("isolates.pool", name);
            activity?.SetTag("isolates.chunk.first", request.FirstIndex);
            activity?.SetTag("isolates.chunk.count", request.Count);
        }
        else if (request.TraceParent is { } parent)
        {
            // Nobody listens here, but the pool's own calls still carry the caller's trace into the isolates.
            activity = new Activity("isolates.cluster.chunk").SetParentId(parent).Start();
        }

        Interlocked.Increment(ref _running);
        try
        {
            return await function.RunAsync(pool, name, request, ClusterLimits.PayloadBudget(Math.Min(MaxMessageBytes, request.MaxReplyBytes)), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _running);
            activity?.Stop();
            Activity.Current = previous; // a span started from a parent id has no parent object for Stop to restore
        }
    }

    private readonly record struct FunctionKey(string Assembly, int Token, string Generics, byte Shape)
    {
        public static FunctionKey Of(ChunkRequest request) =>
            new(request.Assembly, request.Token, string.Join('|', request.GenericAssemblies.Zip(request.GenericTokens, (a, t) => a + "#" + t)), request.Shape);
    }
}

/// <summary>One pool registered on a silo by <c>AddIsolatePool</c>.</summary>
internal sealed record IsolatePoolRegistration(string Name, IsolatePoolOptions Options);
