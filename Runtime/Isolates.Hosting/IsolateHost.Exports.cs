using System.Diagnostics;
using System.Reflection;
using System.Runtime.ExceptionServices;
using Isolates.Hosting.Diagnostics;
using Isolates.Hosting.Registrations;
using Isolates.Hosting.Supervision;

namespace Isolates.Hosting;

/// <summary>
/// Exported services (<see cref="IsolateHostOptions.ExportService{T}"/>): resolved once at start, then merged into the
/// isolate options of every pool and supervised isolate. The merged options are what the pool keeps (so its
/// replacement isolates get them too) and what every restart of a worker uses.
/// </summary>
internal sealed partial class IsolateHost
{
    private static readonly MethodInfo AddService = typeof(IsolateHostServices).GetMethod(nameof(IsolateHostServices.Add))!;

    /// <summary>Per supervised isolate: its options with the exports merged in, fixed at start (restarts reuse them).</summary>
    private readonly Dictionary<string, IsolateOptions?> _workerOptions = new(StringComparer.Ordinal);

    /// <summary>
    /// Resolves every exported interface from the container and prepares the options of every pool and worker, before
    /// anything starts: a missing registration or a clash fails start-up with nothing to close.
    /// </summary>
    private Dictionary<string, IsolatePoolOptions> PrepareExports()
    {
        var pools = new Dictionary<string, IsolatePoolOptions>(StringComparer.Ordinal);
        (Type Type, object Service)[] exports = [.. _options.Exports.Select(Resolve)];
        IsolateHostServices? shared = exports.Length == 0 ? null : Build([], exports);
        foreach (PoolRegistration pool in _options.Pools)
        {
            IsolatePoolOptions options = pool.Options;
            IsolateOptions? merged = Merge(options.IsolateOptions, exports, shared, $"pool '{pool.Name}'");
            pools[pool.Name] = ReferenceEquals(merged, options.IsolateOptions) ? options : options with { IsolateOptions = merged };
        }

        foreach (SupervisedWorker worker in _workers)
        {
            _workerOptions[worker.Name] =
                Merge(worker.Registration.IsolateOptions, exports, shared, $"supervised isolate '{worker.Name}' ({worker.Registration.WorkerType.FullName})");
        }

        return pools;
    }

    /// <summary>The options a worker's isolates are created with: its own, with the exported services merged in.</summary>
    private IsolateOptions? WorkerOptions(SupervisedWorker worker) =>
        _workerOptions.TryGetValue(worker.Name, out IsolateOptions? options) ? options : worker.Registration.IsolateOptions;

    private (Type Type, object Service) Resolve(Type type)
    {
        object? service;
        try
        {
            service = _services.GetService(type);
        }
        catch (Exception ex)
        {
            throw StartFailure($"exported service {type.FullName}", ex);
        }

        return service is null
            ? throw StartFailure($"exported service {type.FullName}", new InvalidOperationException(
                $"ExportService<{type.Name}>() needs {type.FullName} in the host's services, and none is registered. Register it, e.g. "
                + $"services.AddSingleton<{type.Name}, YourImplementation>(): the host resolves it once, at start, and every isolate calls that one instance "
                + "(from the thread pool, concurrently), so it must be thread-safe."))
            : (type, service);
    }

    /// <summary>
    /// <paramref name="options"/> with the exports added to its own host services (a child-process isolate's calls of
    /// them cross its pipe and run here, like an in-process isolate's).
    /// </summary>
    private IsolateOptions? Merge(IsolateOptions? options, (Type Type, object Service)[] exports, IsolateHostServices? shared, string owner)
    {
        if (shared is null)
        {
            return options;
        }

        if (options?.HostServices is not { ServiceTypes.Count: > 0 } own)
        {
            return (options ?? new IsolateOptions()) with { HostServices = shared };
        }

        // A copy: the user's IsolateHostServices may be given to other isolates too, which must not gain the exports.
        var theirs = new List<(Type Type, object Service)>();
        foreach (Type type in own.ServiceTypes)
        {
            object? service = own.Find(type)?.HostService;
            Debug.Assert(service is not null, "a registered host service has its object");
            (Type Type, object Service) export = exports.FirstOrDefault(e => e.Type == type);
            if (export.Type is not null && !ReferenceEquals(export.Service, service))
            {
                throw StartFailure(owner, new InvalidOperationException(
                    $"its IsolateOptions.HostServices registers {type.FullName} with another object than the one ExportService<{type.Name}>() gives every isolate "
                    + "(an isolate has one service per interface, and which one was meant cannot be guessed). Remove it from the options to use the exported one, "
                    + $"or stop exporting {type.Name} and add it to each pool's or worker's options."));
            }

            theirs.Add((type, service!));
        }

        return options with { HostServices = Build(theirs, [.. exports.Where(e => !theirs.Any(t => t.Type == e.Type))]) };
    }

    private static IsolateHostServices Build(IEnumerable<(Type Type, object Service)> first, IEnumerable<(Type Type, object Service)> then)
    {
        var services = new IsolateHostServices();
        foreach ((Type type, object service) in first.Concat(then))
        {
            try
            {
                AddService.MakeGenericMethod(type).Invoke(services, [service]);
            }
            catch (TargetInvocationException ex) when (ex.InnerException is not null)
            {
                ExceptionDispatchInfo.Throw(ex.InnerException);
                throw;
            }
        }

        return services;
    }
}
