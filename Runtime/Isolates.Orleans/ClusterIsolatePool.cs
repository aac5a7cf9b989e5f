using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Isolates.Calls;
using Isolates.Processes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Configuration;
using Orleans.Runtime;

namespace Isolates.Orleans;

/// <summary>
/// The caller's side of a cluster pool: finds the silos that run the pool (cached for
/// <see cref="ClusterIsolatePoolOptions.MembershipRefreshInterval"/>), validates the function as a local pool does and
/// names it as a child process names it, and runs every map as a <see cref="ClusterMapRun{T, TResult}"/>.
/// </summary>
internal sealed class ClusterIsolatePool : IClusterIsolatePool
{
    /// <summary>How long one membership look-up may take before the caller gives up on it (and tries again later).</summary>
    internal static readonly TimeSpan LookupTimeout = TimeSpan.FromSeconds(5);

    private readonly IGrainFactory _grains;
    private readonly Lock _lock = new();
    private IReadOnlyList<SiloPool>? _silos;
    private long _silosReadAt;

    public ClusterIsolatePool(IGrainFactory grains, string name, ClusterIsolatePoolOptions options)
    {
        _grains = grains;
        Name = name;
        Options = options;
        Logger = (options.LoggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Isolates.Orleans");
        MaxMessageBytes = (grains as IClusterClient)?.ServiceProvider.GetService<IOptions<ClientMessagingOptions>>()?.Value.MaxMessageBodySize
            ?? new ClientMessagingOptions().MaxMessageBodySize;
    }

    public string Name { get; }

    public ClusterIsolatePoolOptions Options { get; }

    internal ILogger Logger { get; }

    /// <summary>This caller's Orleans message body limit (a client's own; inside a silo, Orleans's default).</summary>
    internal long MaxMessageBytes { get; }

    public Task<IReadOnlyList<TResult>> MapAsync<T, TResult>(IEnumerable<T> items, Func<T, TResult> function, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(function);
        return MapOrderedAsync<T, TResult>(() => new ListFeed<T>(Materialize(items)), Plan<T, TResult>(function, ResultShape.Value), cancellationToken);
    }

    public Task<IReadOnlyList<TResult>> MapAsync<T, TResult>(IEnumerable<T> items, Func<T, Task<TResult>> function, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(function);
        return MapOrderedAsync<T, TResult>(() => new ListFeed<T>(Materialize(items)), Plan<T, TResult>(function, ResultShape.TaskOfT), cancellationToken);
    }

    public Task<IReadOnlyList<TResult>> MapAsync<T, TResult>(IAsyncEnumerable<T> items, Func<T, TResult> function, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(function);
        return MapOrderedAsync<T, TResult>(() => new AsyncFeed<T>(items), Plan<T, TResult>(function, ResultShape.Value), cancellationToken);
    }

    public IAsyncEnumerable<TResult> MapUnorderedAsync<T, TResult>(IEnumerable<T> items, Func<T, TResult> function, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(function);
        ClusterFunction plan = Plan<T, TResult>(function, ResultShape.Value);
        return MapUnorderedCoreAsync<T, TResult>(() => new ListFeed<T>(Materialize(items)), plan, cancellationToken);
    }

    public IAsyncEnumerable<TResult> MapUnorderedAsync<T, TResult>(IEnumerable<T> items, Func<T, Task<TResult>> function, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(function);
        ClusterFunction plan = Plan<T, TResult>(function, ResultShape.TaskOfT);
        return MapUnorderedCoreAsync<T, TResult>(() => new ListFeed<T>(Materialize(items)), plan, cancellationToken);
    }

    public IAsyncEnumerable<TResult> MapUnorderedAsync<T, TResult>(IAsyncEnumerable<T> items, Func<T, TResult> function, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(function);
        ClusterFunction plan = Plan<T, TResult>(function, ResultShape.Value);
        return MapUnorderedCoreAsync<T, TResult>(() => new AsyncFeed<T>(items), plan, cancellationToken);
    }

    public Task<TResult> SubmitAsync<T, TResult>(Func<T, TResult> function, T input, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(function);
        return SubmitCoreAsync<T, TResult>(Plan<T, TResult>(function, ResultShape.Value), input, cancellationToken);
    }

    public Task<TResult> SubmitAsync<T, TResult>(Func<T, Task<TResult>> function, T input, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(function);
        return SubmitCoreAsync<T, TResult>(Plan<T, TResult>(function, ResultShape.TaskOfT), input, cancellationToken);
    }

    public async Task<IReadOnlyDictionary<string, int>> GetSilosAsync(CancellationToken cancellationToken = default)
    {
        IReadOnlyList<SiloPool> silos = await DiscoverAsync(cancellationToken).ConfigureAwait(false);
        return silos.ToDictionary(s => s.Address.ToString(), s => s.Size);
    }

    /// <summary>The silos that run the pool, looked up again when the last look is older than the refresh interval.</summary>
    internal async Task<IReadOnlyList<SiloPool>> SilosAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_silos is { Count: > 0 } known && Stopwatch.GetElapsedTime(_silosReadAt) < Options.MembershipRefreshInterval)
            {
                return known;
            }
        }

        return await DiscoverAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Asks the cluster's membership for its active silos and each one for the size of its pool of this name.</summary>
    internal async Task<IReadOnlyList<SiloPool>> DiscoverAsync(CancellationToken cancellationToken)
    {
        Dictionary<SiloAddress, SiloStatus> hosts = await HostsAsync(cancellationToken).ConfigureAwait(false);
        IReadOnlyList<SiloPool> silos = await PoolsOnAsync([.. hosts.Where(h => h.Value == SiloStatus.Active).Select(h => h.Key)], cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            _silos = silos;
            _silosReadAt = Stopwatch.GetTimestamp();
        }

        return silos;
    }

    /// <summary>
    /// Every silo in the cluster's membership with its status (dead ones too, until membership forgets them), as the
    /// silo that answers sees it: inside a silo, that silo's own membership view; from a client, its gateway's (a
    /// client has no membership view of its own). Bounded by <see cref="LookupTimeout"/>: a look-up that went to a
    /// gateway that just died would otherwise wait for Orleans's response timeout, the very wait a running map's
    /// look-ups are there to avoid.
    /// </summary>
    internal async Task<Dictionary<SiloAddress, SiloStatus>> HostsAsync(CancellationToken cancellationToken)
    {
        Task<Dictionary<SiloAddress, SiloStatus>> hosts = _grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: false);
        try
        {
            return await hosts.WaitAsync(LookupTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Observe(hosts);
            throw;
        }
    }

    /// <summary>Observes the failure of a call the caller stopped waiting for, so it is not reported as unobserved.</summary>
    internal static void Observe(Task abandoned) =>
        _ = abandoned.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    /// <summary>Asks each silo for the size of its pool of this name; the silos that run one, in address order.</summary>
    internal async Task<IReadOnlyList<SiloPool>> PoolsOnAsync(IReadOnlyList<SiloAddress> hosts, CancellationToken cancellationToken)
    {
        SiloPool?[] found = await Task.WhenAll(hosts.Select(async silo =>
        {
            IIsolatePoolSiloGrain grain = _grains.GetGrain<IIsolatePoolSiloGrain>(SiloGrainKey.For(Name, silo));
            try
            {
                SiloPoolInfo info = await grain.GetPoolAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
                return info.Size > 0 ? new SiloPool(silo, info.Size, grain, ClusterLimits.PayloadBudget(Math.Min(MaxMessageBytes, info.MaxMessageBytes))) : null;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return null; // leaving, or not running Isolates.Orleans: not a silo this pool can use
            }
        })).ConfigureAwait(false);
        return [.. found.OfType<SiloPool>().OrderBy(s => s.Address)];
    }

    /// <summary>Forgets the cached silos (a map saw one leave), so the next map looks again.</summary>
    internal void ForgetSilos()
    {
        lock (_lock)
        {
            _silos = null;
        }
    }

    // The feed is made inside the task: a sequence that throws while it is copied fails the returned task, as a local pool's map does.
    private async Task<IReadOnlyList<TResult>> MapOrderedAsync<T, TResult>(Func<IClusterFeed<T>> makeFeed, ClusterFunction plan, CancellationToken cancellationToken)
    {
        IClusterFeed<T> feed = makeFeed();
        var results = new List<TResult>();
        var gate = new Lock();
        var run = new ClusterMapRun<T, TResult>(this, plan, feed, (first, chunk) =>
        {
            lock (gate)
            {
                long end = first + chunk.Length;
                while (results.Count < end)
                {
                    results.Add(default!);
                }

                for (int i = 0; i < chunk.Length; i++)
                {
                    results[(int)first + i] = chunk[i];
                }
            }
        }, cancellationToken);
        await run.RunAsync().ConfigureAwait(false);
        return results;
    }

    private async IAsyncEnumerable<TResult> MapUnorderedCoreAsync<T, TResult>(Func<IClusterFeed<T>> feed, ClusterFunction plan, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var output = Channel.CreateUnbounded<TResult>(new UnboundedChannelOptions { SingleReader = true });
        var run = new ClusterMapRun<T, TResult>(this, plan, feed(), (_, chunk) =>
        {
            foreach (TResult result in chunk)
            {
                output.Writer.TryWrite(result);
            }
        }, stop.Token);
        Task running = run.RunAsync();
        _ = running.ContinueWith(
            t => output.Writer.TryComplete(t.Exception?.InnerException ?? (t.IsCanceled ? new OperationCanceledException(cancellationToken) : null)),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        try
        {
            await foreach (TResult result in output.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
            {
                yield return result;
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false); // the consumer stopped early, or everything is done
            try
            {
                await running.ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                // cancelled because the consumer stopped enumerating
            }
        }
    }

    private async Task<TResult> SubmitCoreAsync<T, TResult>(ClusterFunction plan, T input, CancellationToken cancellationToken)
    {
        TResult result = default!;
        var run = new ClusterMapRun<T, TResult>(this, plan, new ListFeed<T>([input]), (_, chunk) => result = chunk[0], cancellationToken);
        try
        {
            await run.RunAsync().ConfigureAwait(false);
        }
        catch (IsolateExecutionException ex)
        {
            ex.ItemIndex = null; // a submitted call is no map: there is no item index to report
            throw;
        }

        return result;
    }

    /// <summary>Validates the function with the local pool's rules and names it for the silos.</summary>
    private static ClusterFunction Plan<T, TResult>(Delegate function, ResultShape shape)
    {
        CallPlan plan = CallPlan.Get(function, shape);
        if (plan.HasTokenParameter || plan.WireArgumentCodecs.Length != 1)
        {
            throw new NotShareableException(typeof(T), string.Empty, $"{plan.DisplayName} must take exactly one argument (the item) to be run on a cluster pool.");
        }

        CallHeader header = CallHeader.For(plan.Method, shape, null);
        return new ClusterFunction(header, plan.DisplayName, plan.WireArgumentCodecs[0]!, plan.WireResultCodec!);
    }

    private static IReadOnlyList<T> Materialize<T>(IEnumerable<T> items) => items as IReadOnlyList<T> ?? [.. items];
}

/// <summary>A silo that runs the pool, its pool's size, its front-door grain, and how many item bytes one chunk to it may carry.</summary>
internal sealed record SiloPool(SiloAddress Address, int Size, IIsolatePoolSiloGrain Grain, long MaxChunkBytes);

/// <summary>A validated function, named as the silos find it, with the caller's codecs of its item and result.</summary>
internal sealed record ClusterFunction(CallHeader Header, string DisplayName, Wire.Codec ItemCodec, Wire.Codec ResultCodec);
