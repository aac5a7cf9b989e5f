using Isolates.Diagnostics;

namespace Isolates.Tests.Scheduling;

/// <summary>
/// A scheduler for one exact interleaving: the first thread to reach <paramref name="point"/> waits there until
/// <paramref name="release"/> holds (or <paramref name="patience"/> runs out), so everything the test wants to happen
/// inside that window happens first. Turns a race found by <see cref="Schedule.ExploreAsync"/> into a deterministic test.
/// </summary>
internal sealed class HoldingScheduler(string point, Func<bool> release, TimeSpan patience) : IInterleaveScheduler
{
    private int _held;

    /// <summary>Whether a thread reached the point (and was held there).</summary>
    public bool Held => Volatile.Read(ref _held) != 0;

    public void Point(string name)
    {
        if (name != point || Interlocked.Exchange(ref _held, 1) != 0)
        {
            return;
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!release() && clock.Elapsed < patience)
        {
            Thread.Sleep(1);
        }
    }
}
