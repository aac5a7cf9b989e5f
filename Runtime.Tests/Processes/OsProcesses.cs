using System.Diagnostics;

namespace Isolates.Tests.Processes;

/// <summary>What the tests of child-process isolates ask the OS about processes.</summary>
internal static class OsProcesses
{
    /// <summary>
    /// Whether the process has ended. An orphan that exited stays a zombie until whatever adopted it reaps it (in a
    /// container, PID 1 may take its time): a zombie has ended, so on Linux its state counts, not whether it is listed.
    /// </summary>
    public static bool Gone(int pid)
    {
        if (OperatingSystem.IsLinux())
        {
            try
            {
                string text = File.ReadAllText($"/proc/{pid}/stat");
                char state = text[(text.LastIndexOf(')') + 2)..][0];
                return state is 'Z' or 'X';
            }
            catch (IOException)
            {
                return true;
            }
        }

        try
        {
            using var process = Process.GetProcessById(pid);
            return process.HasExited;
        }
        catch (ArgumentException)
        {
            return true;
        }
    }

    /// <summary>This process's direct children that have not ended (Linux: from /proc).</summary>
    public static int[] ChildProcessIds()
    {
        var children = new List<int>();
        foreach (string dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid))
            {
                continue;
            }

            try
            {
                string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture) == Environment.ProcessId && fields[0] != "Z")
                {
                    children.Add(pid);
                }
            }
            catch (IOException)
            {
                // it ended meanwhile
            }
        }

        return [.. children];
    }
}
