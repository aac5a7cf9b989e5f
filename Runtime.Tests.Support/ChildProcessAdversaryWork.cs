using System.Diagnostics;
using System.Globalization;

namespace Isolates.Tests.Support;

/// <summary>Functions the adversarial child-process tests run in a child: processes it starts, what they inherit, runs counted.</summary>
public static class ChildAdversaryWork
{
    private static int s_runs;

    public static int CountRun(int value) => Interlocked.Add(ref s_runs, value);

    public static int Runs() => Volatile.Read(ref s_runs);

    public static string CurrentName() => Isolate.Current?.Name ?? "none";

    /// <summary>Starts <c>sleep</c> inheriting this process's standard output and error; returns its process id.</summary>
    public static int StartSleeper(int seconds)
    {
        using var sleeper = Process.Start(new ProcessStartInfo("sleep", seconds.ToString(CultureInfo.InvariantCulture)) { UseShellExecute = false })!;
        return sleeper.Id;
    }

    /// <summary>Starts a sleeper that keeps this process's output open, then ends this process.</summary>
    public static int StartSleeperThenExit(int seconds)
    {
        File.WriteAllText(Path.Combine(Path.GetTempPath(), $"isolates-adv-sleeper-{Environment.ProcessId}"), StartSleeper(seconds).ToString(CultureInfo.InvariantCulture));
        Environment.Exit(5);
        return 0;
    }

    /// <summary>What a process this child starts sees of the given environment variables ("NAME=value;" each).</summary>
    public static string EnvironmentOfAStartedProcess(string[] names)
    {
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, RedirectStandardOutput = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(string.Concat(names.Select(name => $"printf '%s' \"{name}=${name};\"; ")));
        using var process = Process.Start(info)!;
        string seen = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return seen;
    }
}
