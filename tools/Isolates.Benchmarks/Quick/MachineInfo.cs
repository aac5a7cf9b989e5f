using System.Diagnostics;
using System.Reflection;
using System.Runtime;
using System.Runtime.InteropServices;

namespace Isolates.Benchmarks.Quick;

/// <summary>What the numbers were measured on; they mean little without it.</summary>
internal sealed record MachineInfo(int Cores, string Cpu, string Os, string Runtime, string Gc, string Configuration, string LoadAverage)
{
    public static MachineInfo Current() => new(
        Environment.ProcessorCount,
        ReadCpuModel() ?? RuntimeInformation.ProcessArchitecture.ToString(),
        RuntimeInformation.OSDescription,
        $"{RuntimeInformation.FrameworkDescription} ({RuntimeInformation.RuntimeIdentifier})",
        GCSettings.IsServerGC ? "server" : "workstation",
        typeof(MachineInfo).Assembly.GetCustomAttribute<DebuggableAttribute>()?.IsJITOptimizerDisabled == true ? "Debug" : "Release",
        ReadLoadAverage());

    public override string ToString() =>
        $"{Cores} cores, {Cpu}, {Os}, {Runtime}, {Gc} GC, {Configuration} build";

    // The machine is shared: a load average well above 0 at the start explains noisy figures, above all round trips.
    private static string ReadLoadAverage()
    {
        const string LoadAvg = "/proc/loadavg";
        return File.Exists(LoadAvg) ? string.Join(' ', File.ReadAllText(LoadAvg).Split(' ').Take(3)) : "unknown";
    }

    private static string? ReadCpuModel()
    {
        const string CpuInfo = "/proc/cpuinfo";
        if (!File.Exists(CpuInfo))
        {
            return null;
        }

        string? line = File.ReadLines(CpuInfo).FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
        return line?[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
    }
}
