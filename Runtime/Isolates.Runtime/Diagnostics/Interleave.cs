using System.Runtime.CompilerServices;

namespace Isolates.Diagnostics;

/// <summary>
/// Scheduling points at the racy steps of the runtime (between a compare-and-swap and the write it publishes, between a
/// waiter counting itself and looking again, between closing a queue and draining it...), for the controlled-scheduling
/// tests (<c>Runtime.Tests/Scheduling</c>): there a seeded scheduler decides at each point whether the thread goes on,
/// yields, spins or sleeps, so runs with different seeds explore different interleavings of exactly these steps.
/// </summary>
/// <remarks>
/// Free in production: <see cref="Enabled"/> is a static readonly field that is false unless the process was started
/// with the AppContext switch <c>Isolates.Interleave</c> (only the test project sets it, in its runtimeconfig), and the
/// JIT's optimized code treats a static readonly field of an initialized class as a constant, so <see cref="Point"/>
/// compiles to nothing there (checked with <c>DOTNET_JitDisasm</c>; see docs/design.md, "Controlled scheduling").
/// Put points outside locks where possible, never where a delay could change what the code does (only when).
/// </remarks>
internal static class Interleave
{
    /// <summary>Whether points call the scheduler at all: the AppContext switch <c>Isolates.Interleave</c>, read once.</summary>
    internal static readonly bool Enabled = AppContext.TryGetSwitch("Isolates.Interleave", out bool on) && on;

    private static IInterleaveScheduler? s_scheduler;

    /// <summary>A racy step named <paramref name="name"/> (a literal: "ring.write.claimed"); the scheduler may delay the thread here.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Point(string name)
    {
        if (Enabled)
        {
            Call(name);
        }
    }

    /// <summary>
    /// Installs <paramref name="scheduler"/> for the whole process until the returned scope is disposed. One at a time;
    /// fails if the switch is off (the points would silently do nothing).
    /// </summary>
    internal static IDisposable Install(IInterleaveScheduler scheduler)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        if (!Enabled)
        {
            throw new InvalidOperationException("Scheduling points are off: start the process with the AppContext switch 'Isolates.Interleave' set to true (the test project sets it in its runtimeconfig).");
        }

        if (Interlocked.CompareExchange(ref s_scheduler, scheduler, null) is not null)
        {
            throw new InvalidOperationException("Another scheduler is installed; scheduling tests must not run in parallel.");
        }

        return new Scope(scheduler);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Call(string name) => Volatile.Read(ref s_scheduler)?.Point(name);

    private sealed class Scope(IInterleaveScheduler scheduler) : IDisposable
    {
        public void Dispose() => Interlocked.CompareExchange(ref s_scheduler, null, scheduler);
    }
}

/// <summary>Decides what a thread does at a scheduling point (tests only).</summary>
internal interface IInterleaveScheduler
{
    /// <summary>Called on the thread that reached the point named <paramref name="name"/>; may block it for a while.</summary>
    void Point(string name);
}
