using System.Diagnostics;
using System.Runtime.Loader;
using Isolates.Loader;

namespace Isolates.Unloading;

/// <summary>
/// Attributes unobserved task exceptions to the isolate whose code threw them (by the frames of the exception's
/// stack trace) and faults that isolate, so that a fire-and-forget task failing inside an isolate is reported
/// against the isolate instead of vanishing.
/// </summary>
internal static class UnobservedExceptions
{
    private static int s_installed;

    public static void Install()
    {
        if (Interlocked.Exchange(ref s_installed, 1) == 0)
        {
            TaskScheduler.UnobservedTaskException += OnUnobserved;
        }
    }

    private static void OnUnobserved(object? sender, UnobservedTaskExceptionEventArgs e)
    {
        foreach (Exception exception in e.Exception.Flatten().InnerExceptions)
        {
            if (FindIsolate(exception) is { } isolate)
            {
                e.SetObserved();
                isolate.Fault(exception);
            }
        }
    }

    private static Isolate? FindIsolate(Exception exception)
    {
        for (Exception? current = exception; current is not null; current = current.InnerException)
        {
            StackFrame[] frames = new StackTrace(current, fNeedFileInfo: false).GetFrames();
            foreach (StackFrame frame in frames)
            {
                if (frame.GetMethod()?.DeclaringType?.Assembly is { } assembly &&
                    AssemblyLoadContext.GetLoadContext(assembly) is IsolateLoadContext { Owner: { } owner })
                {
                    return owner;
                }
            }
        }

        return null;
    }
}
