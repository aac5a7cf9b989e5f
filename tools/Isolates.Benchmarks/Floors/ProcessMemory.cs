namespace Isolates.Benchmarks.Floors;

/// <summary>Resident and managed memory of this process, read after the collector has settled.</summary>
public readonly record struct ProcessMemory(long ResidentBytes, long ManagedBytes)
{
    /// <summary>
    /// Collects everything collectable (and returns free memory to the OS, so a growth is not hidden by GC slack),
    /// then reads VmRSS from /proc/self/status (Environment.WorkingSet elsewhere) and the managed heap size.
    /// </summary>
    public static ProcessMemory Settle()
    {
        for (int i = 0; i < 2; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }

        return new ProcessMemory(ReadResident(), GC.GetTotalMemory(forceFullCollection: false));
    }

    /// <summary>The growth from <paramref name="before"/> to this reading.</summary>
    public ProcessMemory Since(ProcessMemory before) =>
        new(ResidentBytes - before.ResidentBytes, ManagedBytes - before.ManagedBytes);

    private static long ReadResident()
    {
        const string Status = "/proc/self/status";
        if (File.Exists(Status))
        {
            foreach (string line in File.ReadLines(Status))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    string kilobytes = line["VmRSS:".Length..].Trim().Split(' ')[0];
                    return long.Parse(kilobytes, System.Globalization.CultureInfo.InvariantCulture) * 1024;
                }
            }
        }

        return Environment.WorkingSet;
    }
}
