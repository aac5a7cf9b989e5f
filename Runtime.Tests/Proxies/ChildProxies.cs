using Isolates.Processes;

namespace Isolates.Tests.Proxies;

/// <summary>What the proxy tests across the process boundary share: a child's options and a look at the host's side of its objects.</summary>
internal static class ChildProxies
{
    public static IsolateOptions Child(string name) => new() { Name = name, Placement = IsolatePlacement.ChildProcess, CloseTimeout = TimeSpan.FromSeconds(5) };

    /// <summary>The host's exports to and imports from <paramref name="child"/> (its link must be running).</summary>
    public static HostObjects ObjectsOf(Isolate child) => LinkOf(child).Objects;

    public static ChildLink LinkOf(Isolate child) => ((Engines.ChildProcessEngine)child.Engine).Link!;
}
