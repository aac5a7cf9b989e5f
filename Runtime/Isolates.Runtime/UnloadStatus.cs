namespace Isolates;

/// <summary>
/// Whether an isolate's <see cref="System.Runtime.Loader.AssemblyLoadContext"/> was really collected after the
/// isolate closed. Unloading in .NET is cooperative: anything outside the isolate that still references one of
/// its objects or types keeps it in memory, so the runtime checks instead of assuming.
/// </summary>
public enum UnloadStatus
{
    /// <summary>The isolate has not closed yet, or the check is still running.</summary>
    Pending,

    /// <summary>The context was collected: its assemblies, statics and code are gone.</summary>
    Unloaded,

    /// <summary>
    /// The context was still alive when the check gave up; see <see cref="Isolate.UnloadDiagnostic"/> for what is
    /// known about why. The memory stays in use until whatever holds it lets go.
    /// </summary>
    Leaked,

    /// <summary>The isolate was created with <see cref="IsolateOptions.Collectible"/> false and never unloads.</summary>
    NotCollectible,
}
