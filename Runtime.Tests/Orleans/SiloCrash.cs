using System.Collections.Concurrent;
using Isolates.Orleans;
using Microsoft.Extensions.DependencyInjection;
using Orleans;
using Orleans.TestingHost;

namespace Isolates.Tests.Orleans;

/// <summary>
/// Makes an in-process silo die as a crashed process does, from its callers' side: once <see cref="Crash"/> is called
/// no chunk reply leaves the silo again (running chunks finish or are cut short, but their replies never go out, and
/// chunks that arrive are not run), so a caller learns of the death only from membership or a timeout. The test
/// cluster's <c>KillSiloAsync</c> alone is no crash: the silo stops its pool, which answers its running chunks "lost".
/// </summary>
internal sealed class SiloCrash : IIncomingGrainCallFilter
{
    private readonly TaskCompletionSource _never = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentQueue<ChunkRequest> _swallowed = new();
    private volatile bool _crashed;

    public static SiloCrash Of(InProcessSiloHandle silo) => silo.ServiceProvider.GetServices<IIncomingGrainCallFilter>().OfType<SiloCrash>().Single();

    /// <summary>The chunks whose replies the crash swallowed (they were running, or arrived, when it happened).</summary>
    public int SwallowedChunks => _swallowed.Count;

    /// <summary>The input indexes of every item of the swallowed chunks, ascending.</summary>
    public long[] SwallowedItems => [.. _swallowed.SelectMany(c => Enumerable.Range(0, c.Count).Select(i => c.FirstIndex + i)).Order()];

    public void Crash() => _crashed = true;

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        if (context.Grain is not IsolatePoolSiloGrain || context.Request.GetArgumentCount() == 0 || context.Request.GetArgument(0) is not ChunkRequest request)
        {
            await context.Invoke();
            return;
        }

        if (!_crashed)
        {
            await context.Invoke();
        }

        if (_crashed)
        {
            _swallowed.Enqueue(request);
            await _never.Task; // the reply never goes out, as if the process had died before sending it
        }
    }
}
