using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;

namespace Isolates.Unloading;

/// <summary>
/// When an isolate leaks, finds out cheaply what it had loaded and, if the optional Isolates.LeakDiagnosis assembly is
/// present, which root chain keeps its context alive. Runs only after the unload check has given up, on a thread of
/// its own, bounded in time; any failure or timeout leaves just the cheap part.
/// </summary>
/// <remarks>
/// Turned off with the AppContext switch <see cref="DisableSwitch"/> (for example
/// <c>&lt;RuntimeHostConfigurationOption Include="Isolates.Unloading.DisableLeakDiagnosis" Value="true" /&gt;</c>),
/// which skips the process snapshot; the list of private assemblies is always given.
/// </remarks>
internal static class LeakDiagnosis
{
    /// <summary>The AppContext switch that, set to true, turns off the root-chain search.</summary>
    public const string DisableSwitch = "Isolates.Unloading.DisableLeakDiagnosis";

    /// <summary>How long one search may take before the leak is reported without it.</summary>
    public static readonly TimeSpan Budget = TimeSpan.FromSeconds(10);

    private const string InspectorAssembly = "Isolates.LeakDiagnosis";
    private const string InspectorType = "Isolates.LeakDiagnosis.LeakInspector";

    // One search at a time: each writes a core file of the whole process and reads it; two at once would only slow both.
    private static readonly SemaphoreSlim OneAtATime = new(1, 1);
    private static Func<long, string, CancellationToken, string?>? s_inspector;
    private static bool s_looked;

    /// <summary>
    /// What the context had loaded (empty when it was collected meanwhile), the chain that holds it when one was found,
    /// and otherwise why none is given (null when the search was switched off).
    /// </summary>
    public readonly record struct Findings(IReadOnlyList<string> PrivateAssemblies, string? RootChain, string? Failure);

    /// <summary>False when the application set <see cref="DisableSwitch"/>.</summary>
    public static bool Enabled => !(AppContext.TryGetSwitch(DisableSwitch, out bool disabled) && disabled);

    /// <summary>
    /// Reads the names of the context's assemblies and its native identity while the weak reference still resolves,
    /// then (unless disabled or absent) searches the roots. Never throws.
    /// </summary>
    public static async Task<Findings> DiagnoseAsync(WeakReference context)
    {
        List<string> assemblies = [];
        try
        {
            (assemblies, long native, string name) = Inspect(context);
            if (!Enabled)
            {
                return new Findings(assemblies, null, null);
            }

            if (FindInspector() is not { } inspector)
            {
                return new Findings(assemblies, null, "the root chain was not searched: reference the Isolates.LeakDiagnosis package to have it named");
            }

            return await SearchAsync(inspector, native, name, assemblies).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // A diagnosis must never turn a reported leak into a failed close.
            return new Findings(assemblies, null, $"the root chain search failed: {ex.GetType().Name}: {ex.Message}");
        }
    }

    private static async Task<Findings> SearchAsync(Func<long, string, CancellationToken, string?> inspector, long native, string name, List<string> assemblies)
    {
        if (!await OneAtATime.WaitAsync(Budget).ConfigureAwait(false))
        {
            return new Findings(assemblies, null, "the root chain was not searched: other leaks were being diagnosed");
        }

        using var budget = new CancellationTokenSource(Budget);
        var done = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);

        // A thread of its own: the search blocks for a second or more, and must not hold a pool thread or the
        // verifier's loop. It keeps no reference to the context, only its native handle and name.
        CancellationToken token = budget.Token;
        var thread = new Thread(() =>
        {
            try
            {
                done.TrySetResult(inspector(native, name, token));
            }
            catch (Exception ex)
            {
                done.TrySetException(ex);
            }
            finally
            {
                OneAtATime.Release(); // when the search really ended, even if it was given up on
            }
        })
        {
            IsBackground = true,
            Name = "Isolates leak diagnosis",
        };
        using (ExecutionContext.SuppressFlow())
        {
            thread.Start();
        }

        Task finished = await Task.WhenAny(done.Task, Task.Delay(Budget)).ConfigureAwait(false);
        if (finished != done.Task)
        {
            await budget.CancelAsync().ConfigureAwait(false);
            return new Findings(assemblies, null, $"the root chain search did not finish within {Budget.TotalSeconds:0} s");
        }

        if (done.Task.IsFaulted)
        {
            Exception error = done.Task.Exception!.GetBaseException();
            return new Findings(assemblies, null, $"the root chain search failed: {error.GetType().Name}: {error.Message}");
        }

        string? chain = await done.Task.ConfigureAwait(false);
        return new Findings(assemblies, chain, chain is null ? "the root chain search found no path from a GC root" : null);
    }

    /// <summary>Names and identity only: nothing read here may keep the context alive past this call.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (List<string> Assemblies, long Native, string Name) Inspect(WeakReference reference)
    {
        if (reference.Target is not AssemblyLoadContext context)
        {
            return ([], 0, "");
        }

        List<string> names = [];
        try
        {
            foreach (Assembly assembly in context.Assemblies)
            {
                names.Add(assembly.GetName().Name ?? assembly.FullName ?? "?");
            }
        }
        catch (InvalidOperationException)
        {
            // enumerated while the runtime was tearing it down: what was gathered stands
        }

        names.Sort(StringComparer.Ordinal);

        // Private to the runtime, so read with care: the snapshot matches the context by it, and falls back to the
        // name (unambiguous unless two leaked isolates share one) when the field is not there.
        long native = typeof(AssemblyLoadContext).GetField("_nativeAssemblyLoadContext", BindingFlags.Instance | BindingFlags.NonPublic)
            ?.GetValue(context) is IntPtr pointer ? (long)pointer : 0;
        return (names, native, context.Name ?? "");
    }

    private static Func<long, string, CancellationToken, string?>? FindInspector()
    {
        if (Volatile.Read(ref s_looked))
        {
            return s_inspector;
        }

        try
        {
            // Bound in the default context explicitly: this may run under an isolate's contextual-reflection scope.
            Assembly assembly = AssemblyLoadContext.Default.LoadFromAssemblyName(new AssemblyName(InspectorAssembly));
            Type? type = assembly.GetType(InspectorType);
            MethodInfo? method = type?.GetMethod("Describe", BindingFlags.Public | BindingFlags.Static, [typeof(long), typeof(string), typeof(CancellationToken)]);
            s_inspector = method?.CreateDelegate<Func<long, string, CancellationToken, string?>>();
        }
        catch (Exception ex) when (ex is FileNotFoundException or FileLoadException or BadImageFormatException or ArgumentException)
        {
            s_inspector = null;
        }

        Volatile.Write(ref s_looked, true);
        return s_inspector;
    }
}
