using Isolates.Orleans;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.TestingHost;

namespace Isolates.Tests.Orleans;

/// <summary>
/// An in-process Orleans cluster (silos and a client in the test process) whose silos each run pool "work" of 2
/// isolates and can be crashed (<see cref="SiloCrash"/>).
/// </summary>
internal static class ClusterFixture
{
    public const string PoolName = "work";

    public static async Task<InProcessTestCluster> StartAsync(short silos, TimeSpan disposeTimeout)
    {
        var builder = new InProcessTestClusterBuilder(silos);
        builder.ConfigureSilo((_, silo) => silo
            .AddIsolatePool(PoolName, new IsolatePoolOptions { Size = 2, DisposeTimeout = disposeTimeout })
            .AddIncomingGrainCallFilter<SiloCrash>()); // passes every call through until a test crashes the silo
        InProcessTestCluster cluster = builder.Build();
        await cluster.DeployAsync().WaitAsync(TimeSpan.FromMinutes(1));
        return cluster;
    }

    public static SiloIsolatePools PoolsOf(InProcessSiloHandle silo) => silo.ServiceProvider.GetRequiredService<SiloIsolatePools>();

    public static long[] ChunksServed(InProcessTestCluster cluster) =>
        [.. cluster.Silos.Where(s => s.IsActive).Select(s => PoolsOf(s).ChunksServed(PoolName))];

    public static SiloAddress AddressOf(InProcessSiloHandle silo) => silo.SiloAddress;
}
