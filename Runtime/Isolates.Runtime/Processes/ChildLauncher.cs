using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;

namespace Isolates.Processes;

/// <summary>
/// How a child-process isolate is started: the application's own entry assembly, run by the same <c>dotnet</c> with
/// the application's own runtime configuration and dependency file (so the child resolves exactly the assemblies the
/// app does, with no second build step), and the Isolates runtime as a startup hook, which takes over before the
/// app's <c>Main</c> would run and never returns to it.
/// </summary>
internal static class ChildLauncher
{
    public const string EndpointVariable = "ISOLATES_CHILD_ENDPOINT";
    public const string StartupHooksVariable = "DOTNET_STARTUP_HOOKS";
    public const string HeapLimitVariable = "DOTNET_GCHeapHardLimit";
    public const string OriginalHooksVariable = "ISOLATES_CHILD_HOOKS"; // the app's own startup hooks, restored in the child

    public static ProcessStartInfo Create(string endpoint, long memoryLimit)
    {
        string entry = Assembly.GetEntryAssembly()?.Location is { Length: > 0 } location
            ? location
            : throw new NotSupportedException(
                "IsolatePlacement.ChildProcess needs an application started from its .dll (dotnet run, dotnet app.dll, the app's launcher, a test host); " +
                "a single-file or NativeAOT application has no assembly file to start again. Use IsolatePlacement.InProcess there.");
        string hook = typeof(ChildLauncher).Assembly.Location;
        if (hook.Length == 0)
        {
            throw new NotSupportedException("IsolatePlacement.ChildProcess needs the Isolates runtime loaded from its file (Isolates.Runtime.dll), not embedded in a single-file bundle.");
        }

        string deps = (AppContext.GetData("APP_CONTEXT_DEPS_FILES") as string)?.Split(';', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()
            ?? Path.ChangeExtension(entry, ".deps.json");
        string runtimeConfig = deps.EndsWith(".deps.json", StringComparison.OrdinalIgnoreCase)
            && File.Exists(deps[..^".deps.json".Length] + ".runtimeconfig.json")
                ? deps[..^".deps.json".Length] + ".runtimeconfig.json"
                : Path.ChangeExtension(entry, ".runtimeconfig.json");

        var info = new ProcessStartInfo(Muxer())
        {
            UseShellExecute = false,
            RedirectStandardInput = true,  // the child never reads the host's console
            RedirectStandardOutput = true, // forwarded line by line, and the last lines kept for crash reports
            RedirectStandardError = true,
            WorkingDirectory = Environment.CurrentDirectory,
        };
        info.ArgumentList.Add("exec");
        if (File.Exists(runtimeConfig))
        {
            info.ArgumentList.Add("--runtimeconfig");
            info.ArgumentList.Add(runtimeConfig);
        }

        if (File.Exists(deps))
        {
            info.ArgumentList.Add("--depsfile");
            info.ArgumentList.Add(deps);
        }

        info.ArgumentList.Add(entry);
        info.Environment[EndpointVariable] = endpoint;
        // Last, after any hooks the app already has (a profiler agent): ours never returns, so hooks after it would not run.
        string? existing = Environment.GetEnvironmentVariable(StartupHooksVariable);
        info.Environment[StartupHooksVariable] = string.IsNullOrEmpty(existing) ? hook : existing + Path.PathSeparator + hook;
        info.Environment[OriginalHooksVariable] = existing ?? string.Empty;
        if (memoryLimit > 0)
        {
            // The GC's hard heap limit: an allocation past it throws OutOfMemoryException in the child, which then reports
            // the limit and exits. (Without it, the Linux OOM killer would end the child with no explanation.)
            info.Environment[HeapLimitVariable] = "0x" + memoryLimit.ToString("X", System.Globalization.CultureInfo.InvariantCulture);
        }

        return info;
    }

    /// <summary>The <c>dotnet</c> executable that runs this process (or the one next to its runtime).</summary>
    private static string Muxer()
    {
        string executable = RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? "dotnet.exe" : "dotnet";
        if (Environment.ProcessPath is { } path && string.Equals(Path.GetFileName(path), executable, StringComparison.OrdinalIgnoreCase))
        {
            return path;
        }

        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath && File.Exists(hostPath))
        {
            return hostPath;
        }

        // <root>/shared/Microsoft.NETCore.App/<version>/ -> <root>/dotnet
        string root = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
        string candidate = Path.Combine(root, executable);
        return File.Exists(candidate) ? candidate
            : throw new NotSupportedException($"IsolatePlacement.ChildProcess could not find the dotnet executable (looked at {candidate}); set DOTNET_HOST_PATH to it.");
    }

    /// <summary>A socket path short enough for every platform's limit (104 bytes on macOS).</summary>
    public static string NewEndpoint()
    {
        string directory = Path.GetTempPath();
        string name = $"iso-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..12]}.sock";
        string path = Path.Combine(directory, name);
        return path.Length < 100 ? path : Path.Combine("/tmp", name);
    }
}
