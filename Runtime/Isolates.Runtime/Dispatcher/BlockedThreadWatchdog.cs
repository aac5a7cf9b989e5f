using System.Diagnostics;

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
    private static readonly Dictionary<TimeProvider, BlockedThreadWatchdog> ByClock = [];
    private static readonly TimeSpan MinPeriod = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan MaxPeriod = TimeSpan.FromSeconds(1);

    private readonly TimeProvider _clock;
    private readonly List<Isolate> _watched = []; // guarded by ByClock
    private readonly ITimer _timer;
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
    public static void Watch(Isolate isolate, TimeProvider clock, TimeSpan timeout)
    {
        Debug.Assert(timeout > TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan);

        // A few looks per timeout: a deadlock is reported between the timeout and about 1.5 times it.
        TimeSpan period = TimeSpan.FromTicks(Math.Clamp(timeout.Ticks / 5, MinPeriod.Ticks, MaxPeriod.Ticks));
        lock (ByClock)
        {
            if (!ByClock.TryGetValue(clock, out BlockedThreadWatchdog? watchdog))
            {
                watchdog = new BlockedThreadWatchdog(clock);
                ByClock.Add(clock, watchdog);
            }

            watchdog._watched.Add(isolate);
            if (watchdog._period == Timeout.InfiniteTimeSpan || period < watchdog._period)
            {
                watchdog._period = period;
                watchdog._timer.Change(period, period);
            }
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
            Isolate[] watched;
            lock (ByClock)
            {
                _watched.RemoveAll(static isolate => !isolate.NeedsWatching);
                if (_watched.Count == 0)
                {
                    // Nobody left on this clock: stop, and forget the clock (a test's fake clock must not be kept alive).
                    _timer.Dispose();
                    ByClock.Remove(_clock);
                    return;
                }

                watched = [.. _watched];
            }

            long now = _clock.GetTimestamp();
            foreach (Isolate isolate in watched)
            {
                isolate.CheckBlocked(_clock, now);
            }
        }
        finally
        {
            Volatile.Write(ref _ticking, 0);
        }
    }
}
