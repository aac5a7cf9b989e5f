using System.Diagnostics;
using System.Threading.Channels;

namespace Isolates.Tests.Support;

/// <summary>
/// Code for child-process isolates that keeps the isolate's thread from its pipe (synchronous work that never yields
/// it), so frames can only arrive through the child's background reader (Runtime/Isolates.Runtime/Processes/ChildPipeReader.cs).
/// </summary>
public static class ChildPipeRoleWork
{
    private static int s_marks;

    /// <summary>Busy on the isolate's thread (never yielding it) until the isolate closes or <paramref name="milliseconds"/> pass.</summary>
    public static string BusyUntilClosing(int milliseconds)
    {
        var watch = Stopwatch.StartNew();
        CancellationToken closing = Isolate.Current!.ClosingToken;
        while (watch.ElapsedMilliseconds < milliseconds)
        {
            if (closing.IsCancellationRequested)
            {
                return "closing seen";
            }

            Thread.SpinWait(100);
        }

        return "timed out";
    }

    /// <summary>Busy on the isolate's thread for <paramref name="milliseconds"/> without yielding it.</summary>
    public static int BusyFor(int milliseconds)
    {
        var watch = Stopwatch.StartNew();
        while (watch.ElapsedMilliseconds < milliseconds)
        {
            Thread.SpinWait(100);
        }

        return milliseconds;
    }

    /// <summary>Leaves a mark (so a test can tell whether it ran).</summary>
    public static int Mark() => Interlocked.Increment(ref s_marks);

    public static int Marks() => Volatile.Read(ref s_marks);

    /// <summary>
    /// Writes <paramref name="count"/> items with TryWrite alone, spinning on the isolate's thread while the window is
    /// full: only the host's credit frames, read by someone else, let it go on. Returns the items written (fewer when
    /// 30 s passed).
    /// </summary>
    public static int WriteWithoutYielding(ChannelWriter<int> output, int count)
    {
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < count; i++)
        {
            while (!output.TryWrite(i))
            {
                if (watch.Elapsed > TimeSpan.FromSeconds(30))
                {
                    return i;
                }

                Thread.SpinWait(100);
            }
        }

        return count;
    }
}
