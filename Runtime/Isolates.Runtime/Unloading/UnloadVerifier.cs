using System.Diagnostics;
using System.Globalization;

namespace Isolates.Unloading;

/// <summary>
/// Checks that unloaded contexts are really collected, the documented way: a weak reference to the context and
/// rounds of <c>GC.Collect</c> + <c>WaitForPendingFinalizers</c>, bounded in time. One background loop serves
/// every isolate being checked, so closing many isolates at once pays for the same collections only once.
/// </summary>
internal static class UnloadVerifier
{
    private static readonly List<Entry> Pending = [];
    private static bool s_running;

    /// <summary>Completes with <see cref="UnloadStatus.Unloaded"/> once the context is gone, or Leaked at the deadline.</summary>
    public static Task<UnloadStatus> WaitForCollectionAsync(WeakReference context, TimeSpan timeout, TimeProvider timeProvider)
    {
        if (timeout == TimeSpan.Zero)
        {
            return Task.FromResult(context.IsAlive ? UnloadStatus.Pending : UnloadStatus.Unloaded);
        }

        var entry = new Entry(context, timeProvider.GetTimestamp(), timeout, timeProvider);
        bool start;
        lock (Pending)
        {
            Pending.Add(entry);
            start = !s_running;
            s_running = true;
        }

        if (start)
        {
            // Not Task.Run: that would capture the caller's execution context (an isolate's contextual-reflection
            // scope, when an isolate closes a child) and keep that isolate alive while the loop runs.
            ThreadPool.UnsafeQueueUserWorkItem(static _ => _ = RunGuardedAsync(), (object?)null);
        }

        return entry.Done.Task;
    }

    /// <summary>The leak's text: what holds the context when the diagnosis found it, then what it had loaded, then the usual causes.</summary>
    public static string ExplainLeak(string isolateName, TimeSpan timeout, LeakDiagnosis.Findings findings)
    {
        var text = new System.Text.StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"The context of isolate '{isolateName}' was still alive {timeout.TotalMilliseconds:0} ms after it was unloaded, ");
        if (findings.RootChain is { } chain)
        {
            text.Append("held by: ").Append(chain).Append(". ");
        }
        else
        {
            text.Append("so something outside the isolate still references one of its objects, types or delegates. ");
        }

        if (findings.PrivateAssemblies is { Count: > 0 } assemblies)
        {
            text.Append("Assemblies the isolate had loaded privately: ").AppendJoin(", ", assemblies).Append(". ");
        }

        if (findings.Failure is { } failure)
        {
            text.Append('(').Append(failure).Append(".) ");
        }

        text.Append(
            "Common causes: a handler the isolate added to a shared event and never removed (AppDomain, Console, static events of " +
            "shared libraries), a Timer, thread or thread-pool work the isolate started that is still running, a cache in a shared " +
            "library keyed by the isolate's types (TypeDescriptor, System.Text.Json, XmlSerializer), or an object of the isolate kept " +
            "through a shared type. Find the root with dotnet-dump (dumpheap -type LoaderAllocator, gcroot); see docs/unloading.md.");
        return text.ToString();
    }

    private static async Task RunGuardedAsync()
    {
        try
        {
            await RunAsync().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // A TimeProvider that throws must not leave every pending check (and every CloseAsync) waiting forever.
            List<Entry> abandoned;
            lock (Pending)
            {
                abandoned = [.. Pending];
                Pending.Clear();
                s_running = false;
            }

            foreach (Entry entry in abandoned)
            {
                entry.Done.TrySetResult(entry.Context.IsAlive ? UnloadStatus.Leaked : UnloadStatus.Unloaded);
            }
        }
    }

    private static async Task RunAsync()
    {
        int round = 0;
        while (true)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();

            Entry[] snapshot;
            lock (Pending)
            {
                snapshot = [.. Pending];
            }

            // Decided outside the lock: a TimeProvider is user code.
            List<(Entry Entry, UnloadStatus Status)> finished = [];
            bool clearCaches = false;
            foreach (Entry entry in snapshot)
            {
                if (!entry.Context.IsAlive)
                {
                    finished.Add((entry, UnloadStatus.Unloaded));
                    continue;
                }

                // Still alive after the collections a healthy unload needs (two or three): a shared assembly's cache of
                // types may hold it (System.Text.Json's metadata, TypeDescriptor...). Clearing those costs the host a
                // rebuild of its own caches, so only now, once per context.
                if (++entry.Rounds == 3)
                {
                    clearCaches = true;
                    continue; // decided after the caches are cleared and collected once more
                }

                if (entry.TimeProvider.GetElapsedTime(entry.Started) >= entry.Timeout)
                {
                    finished.Add((entry, UnloadStatus.Leaked));
                }
            }

            if (clearCaches)
            {
                FrameworkCaches.Clear();
            }

            lock (Pending)
            {
                foreach ((Entry entry, _) in finished)
                {
                    Pending.Remove(entry);
                }

                if (Pending.Count == 0)
                {
                    s_running = false;
                }
            }

            if (finished.Exists(f => f.Status == UnloadStatus.Unloaded))
            {
                // The native teardown of a collected context runs on the finalizer thread; let it finish here, in
                // the close that caused it, rather than on whatever the process does next.
                GC.WaitForPendingFinalizers();
            }

            // Completing outside the lock: continuations may run user code.
            foreach ((Entry entry, UnloadStatus status) in finished)
            {
                entry.Done.TrySetResult(status);
            }

            lock (Pending)
            {
                if (!s_running)
                {
                    return;
                }
            }

            round++;

            // Unloading a healthy context takes two or three collections: those rounds follow each other at once
            // (a timer's resolution would add a millisecond or more to every close); then back off.
            if (round < 3)
            {
                await Task.Yield();
            }
            else
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(100, 5 * round))).ConfigureAwait(false);
            }
            Debug.Assert(round < int.MaxValue);
        }
    }

    private sealed class Entry(WeakReference context, long started, TimeSpan timeout, TimeProvider timeProvider)
    {
        public WeakReference Context { get; } = context;

        public long Started { get; } = started;

        public TimeSpan Timeout { get; } = timeout;

        public TimeProvider TimeProvider { get; } = timeProvider;

        /// <summary>Collections this context has survived (only the verifier's loop touches it).</summary>
        public int Rounds { get; set; }

        public TaskCompletionSource<UnloadStatus> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
