using System.Collections.Concurrent;
using Isolates.Diagnostics;

namespace Isolates.Tests.Scheduling;

/// <summary>
/// Decides, from a seed, what a thread does at each of the runtime's scheduling points (<see cref="Interleave"/>): go
/// on, spin, yield its core, or sleep. Real threads keep running in parallel; the scheduler stretches the windows
/// between racy steps so that the other threads act inside them. Each seed favours a different subset of points (the
/// "hot" ones, delayed often and long) and a different subset of threads (the "slow" ones, PCT-style low priority), so
/// different seeds push different steps past each other. The choices come from the seed, the thread's name and how
/// many points that thread has passed, so a seed repeats the scheduler's choices; what the operating system does
/// around them is not controlled, so a failing seed reproduces often, not always (run it alone with
/// <c>ISOLATES_SCHEDULE_SEED</c>, and more iterations).
/// </summary>
internal sealed class SeededScheduler(int seed, bool delays = true) : IInterleaveScheduler
{
    [ThreadStatic]
    private static ThreadState? t_state;

    private readonly ConcurrentDictionary<string, int> _hits = new();
    private readonly ulong _seed = Mix((ulong)seed * 0x9E3779B97F4A7C15UL);

    /// <summary>How often each point was reached under this scheduler.</summary>
    public IReadOnlyDictionary<string, int> Hits => _hits;

    public void Point(string name)
    {
        _hits.AddOrUpdate(name, 1, static (_, n) => n + 1);
        if (!delays)
        {
            return;
        }

        ThreadState state = t_state is { } s && s.Owner == this ? s : t_state = new ThreadState(this, Thread.CurrentThread.Name);
        ulong r = Mix(state.Stream ^ (ulong)(++state.Count) ^ Hash(name));

        // Per mille chance of a delay: a hot point on a slow thread is delayed often, an ordinary point rarely.
        bool hot = (Mix(_seed ^ Hash(name)) & 3) == 0;
        int chance = (hot ? 300 : 40) * (state.Slow ? 2 : 1);
        if ((int)(r % 1000) >= chance)
        {
            return;
        }

        switch ((r >> 12) % 16)
        {
            case < 8:
                Thread.SpinWait(1 + (int)((r >> 20) % (hot ? 4000UL : 500UL))); // up to ~tens of microseconds
                break;
            case < 13:
                Thread.Yield(); // give the core to whoever waits for it (2 cores: often the other party)
                break;
            case < 15:
                Thread.Sleep(0);
                break;
            default:
                Thread.Sleep(hot ? 1 : 0); // a preemption of a whole time slice, the rare case that breaks "nanoseconds" assumptions
                break;
        }
    }

    private static ulong Hash(string? text)
    {
        ulong h = 14695981039346656037UL; // FNV-1a: stable across processes, unlike string.GetHashCode
        foreach (char c in text ?? "")
        {
            h = (h ^ c) * 1099511628211UL;
        }

        return h;
    }

    private static ulong Mix(ulong x)
    {
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdUL;
        x ^= x >> 33;
        x *= 0xc4ceb9fe1a85ec53UL;
        x ^= x >> 33;
        return x;
    }

    private sealed class ThreadState(SeededScheduler owner, string? threadName)
    {
        public SeededScheduler Owner { get; } = owner;

        public ulong Stream { get; } = Mix(owner._seed ^ Hash(threadName));

        public bool Slow { get; } = (Mix(owner._seed ^ Hash(threadName) ^ 0x5107) % 3) == 0;

        public int Count { get; set; }
    }
}
