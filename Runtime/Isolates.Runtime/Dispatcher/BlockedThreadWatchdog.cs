using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Isolates.Dispatcher;

/// <summary>
/// Finds isolates whose thread is deadlocked on itself (see <see cref="IsolateOptions.BlockedThreadTimeout"/>): one
/// timer per clock for all isolates that use it (normally one for the process, on <see cref="TimeProvider.System"/>),
/// running only while some isolate is watched. Nothing is added to the path of a call: each tick reads which item
/// the isolate's thread runs and its thread state, and looks into the queue only when the thread has stayed blocked
/// in one item since the previous tick.
/// </summary>
internal sealed class BlockedThreadWatchdog
{
    // Weak keys: a test's fake clock is not kept alive by having been used once.
    private static readonly ConditionalWeakTable<TimeProvider, BlockedThreadWatchdog> ByClock = [];
    private static readonly TimeSpan MinPeriod = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan MaxPeriod = TimeSpan.FromSeconds(1);

    private readonly TimeProvider _clock;
    private readonly ITimer _timer;
    private readonly object _gate = new();       // guards _watched and _period; nothing else runs under it
    private readonly object _changeGate = new(); // orders timer changes, so the last one sets the latest period
    private readonly List<Engines.InProcessEngine> _watched = [];
    private TimeSpan _period = Timeout.InfiniteTimeSpan;
    private int _ticking;

    private BlockedThreadWatchdog(TimeProvider clock)
    {
        _clock = clock;

        // Without flow: an isolate creating another must not keep its contextual-reflection scope alive in the timer.
        using (ExecutionContext.IsFlowSuppressed() ? default : ExecutionContext.SuppressFlow())
        {
            _timer = clock.CreateTimer(static s => ((BlockedThreadWatchdog)s!).Tick(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Starts watching <paramref name="isolate"/> on its clock; it is dropped once its thread has stopped.</summary>
    public static void Watch(Engines.InProcessEngine isolate, TimeProvider clock, TimeSpan timeout)
    {
        Debug.Assert(timeout > TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan);
        try
        {
            WatchOn(isolate, clock, timeout);
        }
        catch (Exception) when (clock != TimeProvider.System)
        {
            // The clock is user code and gave no working timer. Creating the isolate must not fail half-way (it is
            // listed already, its thread not started): watch it on the system clock, so detection still works.
            WatchOn(isolate, TimeProvider.System, timeout);
        }
    }

    private static void WatchOn(Engines.InProcessEngine isolate, TimeProvider clock, TimeSpan timeout)
    {
        // The clock is user code: it creates the timer outside any lock (a racing loser's idle timer is dropped).
        BlockedThreadWatchdog watchdog = ByClock.GetValue(clock, static c => new BlockedThreadWatchdog(c));

        // A few looks per timeout: a deadlock is reported between the timeout and about 1.5 times it.
        TimeSpan period = TimeSpan.FromTicks(Math.Clamp(timeout.Ticks / 5, MinPeriod.Ticks, MaxPeriod.Ticks));
        bool change;
        lock (watchdog._gate)
        {
            watchdog._watched.Add(isolate);
            change = watchdog._period == Timeout.InfiniteTimeSpan || period < watchdog._period;
            if (change)
            {
                watchdog._period = period;
            }
        }

        if (change)
        {
            try
            {
                watchdog.ApplyPeriod();
            }
            catch (Exception)
            {
                lock (watchdog._gate)
                {
                    watchdog._watched.Remove(isolate); // watched on one clock only: its per-isolate state is one tick's at a time
                }

                throw;
            }
        }
    }

    private void ApplyPeriod()
    {
        lock (_changeGate)
        {
            TimeSpan period;
            lock (_gate)
            {
                period = _period;
            }

            _timer.Change(period, period);
        }
    }

    private void Tick()
    {
        if (Interlocked.Exchange(ref _ticking, 1) != 0)
        {
            return; // the previous tick still runs (a slow machine): skip, the next one looks again
        }

        try
        {
            Engines.InProcessEngine[] watched;
            lock (_gate)
            {
                _watched.RemoveAll(static isolate => !isolate.NeedsWatching);
                watched = [.. _watched];
                if (watched.Length == 0)
                {
                    _period = Timeout.InfiniteTimeSpan; // nobody left on this clock: no ticks until an isolate is watched again
                }
            }

            if (watched.Length == 0)
            {
                ApplyPeriod();
                return;
            }

            long now = _clock.GetTimestamp();
            foreach (Engines.InProcessEngine isolate in watched)
            {
                isolate.CheckBlocked(_clock, now);
            }
        }
        catch (Exception)
        {
            // The clock is user code (GetTimestamp, the timer's Change) and this runs on its timer thread, where an
            // exception would end the process: a diagnostic must not. The next tick tries again.
        }
        finally
        {
            Volatile.Write(ref _ticking, 0);
        }
    }
}
