using System.Threading.Channels;
using Isolates.Hosting.Workers;

namespace Isolates.Hosting.Registrations;

/// <summary>
/// A configured supervised isolate: how to construct its worker inside a fresh isolate and how to run it. The
/// delegates passed to <see cref="Isolate.CallAsync(Action, CancellationToken)"/> are static generic methods of
/// <see cref="WorkerEntry"/>; the runtime maps their type arguments to the isolate's own copy of the worker type.
/// </summary>
internal sealed class WorkerRegistration
{
    private WorkerRegistration(string name, Type workerType, RestartPolicy policy, IsolateOptions? isolateOptions)
    {
        Name = name;
        WorkerType = workerType;
        Policy = policy;
        IsolateOptions = isolateOptions;
    }

    public string Name { get; }

    public Type WorkerType { get; }

    public RestartPolicy Policy { get; }

    public IsolateOptions? IsolateOptions { get; }

    /// <summary>Builds the worker's instance inside the isolate (its constructor runs there).</summary>
    public Func<Isolate, IServiceProvider, Task> Construct { get; private set; } = null!;

    /// <summary>Runs the constructed worker's <c>RunAsync</c>; the task ends when it returns, throws or the isolate faults.</summary>
    public Func<Isolate, ChannelReader<int>, Task> Run { get; private set; } = null!;

    public static WorkerRegistration Create<TWorker>(string name, RestartPolicy policy, IsolateOptions? isolateOptions)
        where TWorker : class
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(policy);
        WorkerShape.Validate(typeof(TWorker), argumentType: null);
        return new WorkerRegistration(name, typeof(TWorker), policy, isolateOptions)
        {
            Construct = static (isolate, _) => isolate.CallAsync(WorkerEntry.Create<TWorker>),
            Run = static (isolate, stop) => isolate.CallAsync(WorkerEntry.RunAsync<TWorker>, stop, CancellationToken.None),
        };
    }

    public static WorkerRegistration Create<TWorker, TArgument>(string name, Func<IServiceProvider, TArgument> argument, RestartPolicy policy, IsolateOptions? isolateOptions)
        where TWorker : class
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(policy);
        WorkerShape.Validate(typeof(TWorker), typeof(TArgument));
        Shareable.EnsureShareable<TArgument>();
        return new WorkerRegistration(name, typeof(TWorker), policy, isolateOptions)
        {
            Construct = (isolate, services) => isolate.CallAsync(WorkerEntry.Create<TWorker, TArgument>, argument(services)),
            Run = static (isolate, stop) => isolate.CallAsync(WorkerEntry.RunAsync<TWorker>, stop, CancellationToken.None),
        };
    }

    public static WorkerRegistration Create(string name, Type workerType, RestartPolicy policy, IsolateOptions? isolateOptions)
    {
        WorkerShape.Validate(workerType, argumentType: null);
        var create = typeof(WorkerRegistration).GetMethods()
            .Single(m => m.Name == nameof(Create) && m.IsGenericMethodDefinition && m.GetGenericArguments().Length == 1);
        return (WorkerRegistration)create.MakeGenericMethod(workerType).Invoke(null, [name, policy, isolateOptions])!;
    }
}
