namespace Isolates.Benchmarks.Quick;

/// <summary>
/// How busy the rest of the machine was while a figure ran: the CPU time all processes used (<c>/proc/stat</c>) minus
/// this process's own. The machine is shared, and a figure that needs every core (a parallel map) means little if
/// another process had one of them; the load average cannot say so, since it also counts waiting tasks.
/// </summary>
internal sealed class OtherLoad
{
    private const string Stat = "/proc/stat";
    private const double TicksPerSecond = 100; // USER_HZ, the unit of /proc/stat on Linux

    private readonly long _machineTicks;
    private readonly TimeSpan _ownCpu;
    private readonly long _started;

    private OtherLoad(long machineTicks)
    {
        _machineTicks = machineTicks;
        _ownCpu = Environment.CpuUsage.TotalTime;
        _started = System.Diagnostics.Stopwatch.GetTimestamp();
    }

    /// <summary>Starts measuring; null where <c>/proc/stat</c> does not exist.</summary>
    public static OtherLoad? Start() => BusyTicks() is { } ticks ? new OtherLoad(ticks) : null;

    /// <summary>The average number of cores other processes kept busy since <see cref="Start"/>.</summary>
    public double Cores()
    {
        double elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(_started).TotalSeconds;
        double machine = ((BusyTicks() ?? _machineTicks) - _machineTicks) / TicksPerSecond;
        double own = (Environment.CpuUsage.TotalTime - _ownCpu).TotalSeconds;
        return elapsed > 0 ? Math.Max(0, machine - own) / elapsed : 0;
    }

    // The first line: cpu user nice system idle iowait irq softirq steal ...; busy is everything but idle and iowait.
    private static long? BusyTicks()
    {
        if (!File.Exists(Stat))
        {
            return null;
        }

        string[] fields = File.ReadLines(Stat).First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        long busy = 0;
        for (int i = 1; i < Math.Min(fields.Length, 9); i++)
        {
            if (i is not (4 or 5))
            {
                busy += long.Parse(fields[i], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return busy;
    }
}
