using System.Runtime.InteropServices;

namespace Isolates.Tests.Support;

/// <summary>Isolate code that leaks its context on purpose, each in a different way (Unloading/LeakDiagnosisTests).</summary>
public static class LeakFunctions
{
    private static Timer? s_timer;
    private static int s_ticks;

    /// <summary>Holds an isolate object in a strong GC handle; returns the handle so the host can free it.</summary>
    public static long HoldInGCHandle() => GCHandle.ToIntPtr(GCHandle.Alloc(new LeakedState { Value = 12 })).ToInt64();

    /// <summary>Starts a timer that never fires in a test's time and never stops: the timer queue keeps its callback.</summary>
    public static void StartTimer() =>
        s_timer = new Timer(static _ => Interlocked.Increment(ref s_ticks), null, TimeSpan.FromHours(1), TimeSpan.FromHours(1));

    /// <summary>Puts an isolate object into the process-wide AppContext data store (a static dictionary of the framework).</summary>
    public static void PutInAppContext(string key) => AppContext.SetData(key, new LeakedState { Value = 3 });
}

/// <summary>An object of the isolate's own types, for the leaks above.</summary>
public sealed class LeakedState
{
    public int Value { get; set; }
}
