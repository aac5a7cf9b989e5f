using System.Diagnostics;
using Isolates;

namespace Isolates.Compatibility;

/// <summary>How the library is loaded in the isolates of one series.</summary>
internal enum Mode
{
    /// <summary>The default: a private copy of the library in a collectible isolate.</summary>
    Collectible,

    /// <summary><c>Collectible = false</c>: a private copy, ReadyToRun code and tiering, never unloaded.</summary>
    NotCollectible,

    /// <summary>Collectible, with the library and its dependencies in <see cref="IsolateOptions.SharedAssemblies"/>.</summary>
    Shared,
}

/// <summary>One fresh isolate: did the workload work, how long its first call took, did the isolate unload.</summary>
internal sealed record Run(bool Works, double FirstCallMs, UnloadStatus Status, string Detail);

/// <summary>The runs of one mode (empty when the mode does not apply).</summary>
internal sealed record Series(Mode Mode, IReadOnlyList<Run> Runs, IReadOnlyList<string> SharedNames)
{
    public bool Applies => Runs.Count > 0;

    public bool AllWork => Runs.All(r => r.Works);

    public bool AllUnload => Runs.All(r => r.Status == UnloadStatus.Unloaded);

    public bool AnyLeak => Runs.Any(r => r.Status == UnloadStatus.Leaked);
}

internal sealed record LibraryResult(Library Library, string Version, Series Collectible, Series NotCollectible, Series Shared);

/// <summary>Runs a library's workload in fresh isolates, one series per mode.</summary>
internal static class Runner
{
    // Long enough for a healthy unload and the framework-cache clearing after three collections; short enough that
    // the leaking libraries do not dominate the run.
    private static readonly TimeSpan UnloadTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(60);

    public static async Task<LibraryResult> RunAsync(Library library, int runs)
    {
        Series collectible = await SeriesAsync(library, Mode.Collectible, runs);
        Series notCollectible = await SeriesAsync(library, Mode.NotCollectible, runs);
        Series shared = library.IsFramework
            ? new Series(Mode.Shared, [], [])
            : await SeriesAsync(library, Mode.Shared, runs);
        return new LibraryResult(library, VersionOf(library), collectible, notCollectible, shared);
    }

    private static async Task<Series> SeriesAsync(Library library, Mode mode, int runs)
    {
        IReadOnlyList<string> sharedNames = mode == Mode.Shared ? SharedAssemblySet.WithDependencies(library.Assemblies) : [];
        var list = new List<Run>(runs);
        for (int i = 0; i < runs; i++)
        {
            list.Add(await OneAsync(library, mode, sharedNames, i));
        }

        return new Series(mode, list, sharedNames);
    }

    private static async Task<Run> OneAsync(Library library, Mode mode, IReadOnlyList<string> sharedNames, int index)
    {
        var options = new IsolateOptions
        {
            Name = $"compat-{mode}-{index}",
            Collectible = mode != Mode.NotCollectible,
            SharedAssemblies = sharedNames,
            UnloadTimeout = UnloadTimeout,
        };
        Isolate isolate = await Isolate.CreateAsync(options);
        bool works;
        string detail;
        var watch = Stopwatch.StartNew();
        try
        {
            detail = await isolate.CallAsync(library.Workload).WaitAsync(CallTimeout);
            works = true;
        }
        catch (Exception e)
        {
            works = false;
            detail = $"{e.GetType().Name}: {FirstLine(e.Message)}";
        }

        double ms = watch.Elapsed.TotalMilliseconds;
        await isolate.CloseAsync();
        UnloadStatus status = isolate.UnloadStatus;
        return new Run(works, ms, status, status == UnloadStatus.Leaked && works ? isolate.UnloadDiagnostic ?? detail : detail);
    }

    private static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();

    /// <summary>The library's version, read from its file without loading it (the table's first column).</summary>
    private static string VersionOf(Library library)
    {
        if (library.IsFramework)
        {
            return ".NET " + Environment.Version.ToString(3);
        }

        string path = Path.Combine(AppContext.BaseDirectory, library.Assemblies[0] + ".dll");
        string? version = File.Exists(path) ? FileVersionInfo.GetVersionInfo(path).ProductVersion : null;
        return version is null ? "?" : version.Split('+')[0];
    }
}
