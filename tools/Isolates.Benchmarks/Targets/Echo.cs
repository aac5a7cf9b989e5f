namespace Isolates.Benchmarks.Targets;

/// <summary>The proxy figure's object: the proxy counterpart of <see cref="Workload.Identity"/>.</summary>
[IsolateInterface]
public interface IEcho
{
    Task<int> EchoAsync(int value);
}

/// <summary>Lives in the isolate; answers at once.</summary>
public sealed class Echo : IEcho
{
    public Task<int> EchoAsync(int value) => Task.FromResult(value);
}
