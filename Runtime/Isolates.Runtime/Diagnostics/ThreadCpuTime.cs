using System.Runtime.InteropServices;

namespace Isolates.Diagnostics;

/// <summary>
/// CPU time of the calling thread: <c>clock_gettime(CLOCK_THREAD_CPUTIME_ID)</c> on Linux and macOS,
/// <c>GetThreadTimes</c> on Windows. Elsewhere, or if a call fails once, <see cref="IsSupported"/> turns false and the
/// figure stays zero rather than pretending (there is no portable managed per-thread CPU clock).
/// </summary>
internal static class ThreadCpuTime
{
    private const int LinuxThreadCpuClock = 3;  // CLOCK_THREAD_CPUTIME_ID in <time.h> on Linux
    private const int MacThreadCpuClock = 16;   // and on macOS

    private static volatile bool s_supported = OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() || OperatingSystem.IsWindows();

    public static bool IsSupported => s_supported;

    /// <summary>The calling thread's CPU time (user + system) in 100 ns ticks; 0 when it cannot be read here.</summary>
    public static long CurrentThreadTicks()
    {
        if (!s_supported)
        {
            return 0;
        }

        try
        {
            if (OperatingSystem.IsWindows())
            {
                return NativeMethods.GetThreadTimes(NativeMethods.GetCurrentThread(), out _, out _, out long kernel, out long user)
                    ? kernel + user
                    : Unsupported();
            }

            int clock = OperatingSystem.IsMacOS() ? MacThreadCpuClock : LinuxThreadCpuClock;
            return NativeMethods.ClockGetTime(clock, out Timespec time) == 0
                ? (time.Seconds * TimeSpan.TicksPerSecond) + (time.Nanoseconds / 100)
                : Unsupported();
        }
        catch (Exception)
        {
            // Missing library or entry point, or an unexpected marshalling failure: this runs on the isolate's
            // thread between work items, where an exception would fault the isolate. Stop trying instead.
            return Unsupported();
        }
    }

    private static long Unsupported()
    {
        s_supported = false;
        return 0;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public nint Seconds;
        public nint Nanoseconds;
    }

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "clock_gettime")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int ClockGetTime(int clockId, out Timespec time);

        [DllImport("kernel32")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.System32)]
        [return: MarshalAs(UnmanagedType.Bool)]
        public static extern bool GetThreadTimes(nint thread, out long creation, out long exit, out long kernel, out long user);

        [DllImport("kernel32")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.System32)]
        public static extern nint GetCurrentThread();
    }
}
