using System.Threading.Channels;
using Isolates.Hosting.Registrations;
using Isolates.Proxies;

namespace Isolates.Hosting;

/// <summary>
/// What the host runs: pools, supervised isolates and host-owned channels. Filled in the callback of
/// <c>services.AddIsolates(o => ...)</c> or from configuration; every method validates at once, so a mistake fails
/// while the host is being built, not when it starts.
/// </summary>
public sealed class IsolateHostOptions
{
    private readonly List<PoolRegistration> _pools = [];
    private readonly List<WorkerRegistration> _workers = [];
    private readonly List<ChannelRegistration> _channels = [];
    private readonly List<Type> _exports = [];

    /// <summary>
    /// The process exit code set (<see cref="Environment.ExitCode"/>) when a restart intensity is exceeded. Default 1.
    /// Its low 8 bits must be non-zero: Unix keeps only those, so 0, 256 or 512 would report a failed host as a success.
    /// </summary>
    public int FailureExitCode
    {
        get;
        set
        {
            if ((value & 0xFF) == 0)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "FailureExitCode must be non-zero in its low 8 bits (use 1 to 255): Unix keeps only those, so 0, 256 or 512 would report a failed host as a success.");
            }

            field = value;
        }
    } = 1;

    internal IReadOnlyList<PoolRegistration> Pools => _pools;

    internal IReadOnlyList<WorkerRegistration> Workers => _workers;

    internal IReadOnlyList<ChannelRegistration> Channels => _channels;

    /// <summary>The interfaces given to <see cref="ExportService{T}"/>, in call order.</summary>
    internal IReadOnlyList<Type> Exports => _exports;

    /// <summary>Adds a pool of <paramref name="size"/> isolates, started with the host and closed when it stops.</summary>
    /// <param name="name">A unique pool name; its isolates are named <c>{name}-{n}</c>.</param>
    /// <param name="size">How many isolates; 0 means one per processor.</param>
    /// <returns>These options, for chaining.</returns>
    /// <exception cref="ArgumentException">The name is blank or already used by a pool.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The size is negative.</exception>
    public IsolateHostOptions AddPool(string name, int size = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        return AddPool(name, new IsolatePoolOptions { Size = size });
    }

    /// <summary>Adds a pool with full options (initializer, chunking, isolate options).</summary>
    /// <param name="name">A unique pool name; it replaces <see cref="IsolatePoolOptions.Name"/>.</param>
    /// <param name="options">How to create the pool.</param>
    /// <returns>These options, for chaining.</returns>
    /// <exception cref="ArgumentException">The name is blank or already used by a pool, or the size is negative.</exception>
    /// <remarks>The other options are checked by <see cref="IsolatePool.CreateAsync(IsolatePoolOptions, CancellationToken)"/> when the host starts; a bad one fails start-up, naming the pool.</remarks>
    public IsolateHostOptions AddPool(string name, IsolatePoolOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(options);
        EnsureUnique(_pools.Select(p => p.Name), name, "pool");
        if (options.Size < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Size, $"Pool '{name}': IsolatePoolOptions.Size must be positive, or 0 for one isolate per processor.");
        }

        _pools.Add(new PoolRegistration(name, options with { Name = name }));
        return this;
    }

    /// <summary>
    /// Adds a supervised long-running isolate: at host start a fresh isolate creates its own instance of
    /// <typeparamref name="TWorker"/> (public parameterless constructor) and runs its
    /// <c>public Task RunAsync(CancellationToken)</c> (or <c>ValueTask</c>) inside the isolate, like
    /// <c>BackgroundService.ExecuteAsync</c>. The token is cancelled when the host stops.
    /// </summary>
    /// <typeparam name="TWorker">The worker type, in a library that is loaded into isolates (not the test or web host assembly).</typeparam>
    /// <param name="name">A unique name for logs, metrics and <see cref="IIsolateHost.GetStatus(string)"/>.</param>
    /// <param name="restart">What to do when it faults; null for <see cref="RestartPolicy.Default"/>.</param>
    /// <param name="isolateOptions">Options for its isolate (its name is replaced by <paramref name="name"/>); null for the defaults.</param>
    /// <returns>These options, for chaining.</returns>
    /// <exception cref="ArgumentException">The name is taken, or the type lacks the entry point or constructor; the message says what to add.</exception>
    public IsolateHostOptions AddIsolate<TWorker>(string name, RestartPolicy? restart = null, IsolateOptions? isolateOptions = null)
        where TWorker : class
        => AddWorker(WorkerRegistration.Create<TWorker>(name, restart ?? RestartPolicy.Default, isolateOptions));

    /// <summary>
    /// Adds a supervised isolate whose worker receives one shareable argument in its constructor: configuration
    /// values, channel ends (for example <c>host.GetChannel&lt;Job&gt;("jobs").Reader</c>) or a <c>[Shareable]</c>
    /// record holding several. <paramref name="argument"/> runs in the host at every (re)start, so each new isolate
    /// gets fresh values; the value crosses as a copy.
    /// </summary>
    /// <typeparam name="TWorker">The worker type, with a public constructor taking one <typeparamref name="TArgument"/>.</typeparam>
    /// <typeparam name="TArgument">A shareable type (see docs/shareable.md).</typeparam>
    /// <param name="name">A unique name.</param>
    /// <param name="argument">Makes the argument from the host's services (resolve <see cref="IIsolateHost"/> for channels).</param>
    /// <param name="restart">What to do when it faults; null for <see cref="RestartPolicy.Default"/>.</param>
    /// <param name="isolateOptions">Options for its isolate; null for the defaults.</param>
    /// <returns>These options, for chaining.</returns>
    /// <exception cref="ArgumentException">The name is taken, or the type lacks the entry point or constructor.</exception>
    /// <exception cref="NotShareableException"><typeparamref name="TArgument"/> cannot cross into an isolate.</exception>
    public IsolateHostOptions AddIsolate<TWorker, TArgument>(string name, Func<IServiceProvider, TArgument> argument, RestartPolicy? restart = null, IsolateOptions? isolateOptions = null)
        where TWorker : class
    {
        ArgumentNullException.ThrowIfNull(argument);
        return AddWorker(WorkerRegistration.Create<TWorker, TArgument>(name, argument, restart ?? RestartPolicy.Default, isolateOptions));
    }

    /// <summary>Adds a supervised isolate by worker type known at run time (configuration uses this).</summary>
    /// <param name="name">A unique name.</param>
    /// <param name="workerType">The worker type, with a public parameterless constructor and <c>RunAsync(CancellationToken)</c>.</param>
    /// <param name="restart">What to do when it faults; null for <see cref="RestartPolicy.Default"/>.</param>
    /// <param name="isolateOptions">Options for its isolate; null for the defaults.</param>
    /// <returns>These options, for chaining.</returns>
    /// <exception cref="ArgumentException">The name is taken, or the type lacks the entry point or constructor.</exception>
    public IsolateHostOptions AddIsolate(string name, Type workerType, RestartPolicy? restart = null, IsolateOptions? isolateOptions = null)
    {
        ArgumentNullException.ThrowIfNull(workerType);
        return AddWorker(WorkerRegistration.Create(name, workerType, restart ?? RestartPolicy.Default, isolateOptions));
    }

    /// <summary>
    /// Adds a bounded channel the host owns (an <see cref="IsolateChannel"/>), reachable through
    /// <see cref="IIsolateHost.GetChannel{T}(string)"/>. When the host stops, it completes the channel's writer, waits
    /// (up to <c>HostOptions.ShutdownTimeout</c>) for readers to empty it, and logs how many items were left undelivered.
    /// </summary>
    /// <typeparam name="T">A shareable element type.</typeparam>
    /// <param name="name">A unique channel name.</param>
    /// <param name="capacity">How many items it buffers before writers wait; at least 1.</param>
    /// <returns>These options, for chaining.</returns>
    /// <exception cref="ArgumentException">The name is blank or taken.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The capacity is below 1.</exception>
    /// <exception cref="NotShareableException"><typeparamref name="T"/> cannot cross between isolates.</exception>
    public IsolateHostOptions AddChannel<T>(string name, int capacity = 1024)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Shareable.EnsureShareable<T>();
        EnsureUnique(_channels.Select(c => c.Name), name, "channel");
        _channels.Add(new ChannelRegistration(name, typeof(T), () => new HostChannel<T>(name, IsolateChannel.CreateBounded<T>(new BoundedChannelOptions(capacity), itemDropped: null, survivesWriterFaults: true, name: name)), capacity));
        return this;
    }

    /// <summary>
    /// Exports the host's <typeparamref name="T"/> service (resolved from the host's <see cref="IServiceProvider"/>) to
    /// every isolate the host starts: each isolate of every pool and every supervised isolate, replacements and restarts
    /// included. Isolate code reaches it with <c>Isolate.Current!.GetHostService&lt;T&gt;()</c>; its calls run in the
    /// host, on the thread pool, several at a time, so the service must be thread-safe (see <see cref="IsolateHostServices"/>).
    /// </summary>
    /// <typeparam name="T">An interface marked <see cref="IsolateInterfaceAttribute"/>, built with the Isolates source generator.</typeparam>
    /// <returns>These options, for chaining.</returns>
    /// <exception cref="ArgumentException"><typeparamref name="T"/> is not an [IsolateInterface] interface with a generated
    /// proxy, or it is exported already.</exception>
    /// <remarks>
    /// When the host starts it resolves <typeparamref name="T"/> once (register it as a singleton); a missing registration
    /// fails start-up. A pool's or worker's own <see cref="IsolateOptions.HostServices"/> are kept and the exports added
    /// to them; the same interface registered there with another object fails start-up (one isolate has one service per
    /// interface). Child-process isolates (<see cref="IsolatePlacement.ChildProcess"/>) get them too: their calls cross the
    /// child's pipe and run in the host.
    /// </remarks>
    public IsolateHostOptions ExportService<T>()
        where T : class
    {
        Type type = typeof(T);
        if (!type.IsInterface || !type.IsDefined(typeof(IsolateInterfaceAttribute), inherit: false))
        {
            throw new ArgumentException(
                $"ExportService<{type.Name}>(): {type.FullName} is not an interface marked [IsolateInterface]. A host service is exported under such an interface "
                + "(isolate code calls it through the proxy the Isolates source generator writes for it): declare one, mark it [IsolateInterface], implement it "
                + "in your service and export the interface.",
                nameof(T));
        }

        if (ProxyFactory.TryFor(type, out string? reason) is null)
        {
            throw new ArgumentException($"ExportService<{type.Name}>(): {reason}", nameof(T));
        }

        if (_exports.Contains(type))
        {
            throw new ArgumentException($"ExportService<{type.Name}>() was already called: {type.FullName} is exported once (an isolate has one service per interface).", nameof(T));
        }

        _exports.Add(type);
        return this;
    }

    internal IsolateHostOptions AddChannel(string name, Type elementType, int capacity)
    {
        var method = typeof(IsolateHostOptions).GetMethod(nameof(AddChannel), 1, [typeof(string), typeof(int)])!;
        try
        {
            return (IsolateHostOptions)method.MakeGenericMethod(elementType).Invoke(this, [name, capacity])!;
        }
        catch (System.Reflection.TargetInvocationException ex) when (ex.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ex.InnerException);
            throw;
        }
    }

    private static void EnsureUnique(IEnumerable<string> existing, string name, string kind)
    {
        if (existing.Contains(name, StringComparer.Ordinal))
        {
            throw new ArgumentException($"A {kind} named '{name}' is already configured; names must be unique.", nameof(name));
        }
    }

    private IsolateHostOptions AddWorker(WorkerRegistration registration)
    {
        EnsureUnique(_workers.Select(w => w.Name), registration.Name, "supervised isolate");
        if (registration.Policy is { Group: not null } policy &&
            _workers.FirstOrDefault(w => w.Policy.Group == policy.Group) is { } member &&
            (member.Policy.Strategy != policy.Strategy || member.Policy.MaxRestarts != policy.MaxRestarts || member.Policy.Within != policy.Within ||
             member.Policy.InitialDelay != policy.InitialDelay || member.Policy.MaxDelay != policy.MaxDelay))
        {
            throw new ArgumentException(
                $"Supervised isolate '{registration.Name}' joins group '{policy.Group}' with {policy}, but member '{member.Name}' has {member.Policy}: " +
                "the members of a group share one strategy, restart intensity and backoff, so give them the same policy.", nameof(registration));
        }

        _workers.Add(registration);
        return this;
    }
}
