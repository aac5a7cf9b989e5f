using System.Diagnostics;
using Isolates.Benchmarks.Quick;
using Spectre.Console;

namespace Isolates.Cli;

/// <summary>
/// <c>isolates bench</c>: runs the benchmark project's quick mode (<c>dotnet run -c Release --project
/// tools/Isolates.Benchmarks -- --quick ...</c>) of the repository clone the current directory is in. The tool does not
/// reference the benchmarks: they would put BenchmarkDotNet, Akka.NET, Proto.Actor and their native libraries into
/// every user's tool install (16 MB) for a command that only contributors run. The options are checked first, by the
/// benchmark's own parser (its source file is compiled into the tool too), so a mistake costs no build.
/// </summary>
internal static class BenchCommand
{
    /// <summary>The benchmark project, relative to the root of a clone.</summary>
    internal static readonly string ProjectInClone = Path.Combine("tools", "Isolates.Benchmarks", "Isolates.Benchmarks.csproj");

    public static async Task<int> ExecuteAsync(Terminal terminal, Settings settings, CancellationToken cancellationToken, string? searchFrom = null)
    {
        cancellationToken.ThrowIfCancellationRequested();
        string[] quick = QuickArguments(settings);
        if (QuickOptions.Parse(quick, terminal.Error) is null)
        {
            return CliApp.UsageError; // the parser said why on the terminal's error stream
        }

        string from = searchFrom ?? Environment.CurrentDirectory;
        if (FindProject(from) is not { } project)
        {
            terminal.ErrorLine($"[red]error[/]: 'isolates bench' runs the benchmarks of a clone of the repository, and '{Markup.Escape(from)}' is not "
                + $"inside one (no {Markup.Escape(ProjectInClone)} there or above): the installed tool does not carry them; clone "
                + $"{RepositoryInfo.Url} and run it there (see 'isolates bench --help')");
            return CliApp.UsageError;
        }

        using var process = new Process { StartInfo = StartInfo(project, quick) };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            terminal.ErrorLine($"[red]error[/]: could not start '{Markup.Escape(process.StartInfo.FileName)}' to build and run the benchmarks: {Markup.Escape(ex.Message)}");
            return 1;
        }

        try
        {
            // Its output goes straight to this process's console, as it would from dotnet run.
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true); // Ctrl+C reaches the child too; a caller's token does not
            throw;
        }

        return process.ExitCode;
    }

    /// <summary>The benchmark's quick-mode arguments for <paramref name="settings"/>.</summary>
    internal static string[] QuickArguments(Settings settings)
    {
        var args = new List<string> { "--quick" };
        if (settings.Ci)
        {
            args.Add("--ci");
        }

        if (settings.NoPeers)
        {
            args.Add("--no-peers");
        }

        if (settings.Only is { } figure)
        {
            args.Add("--only");
            args.Add(figure);
        }

        if (settings.Write is { } write)
        {
            args.Add("--write");
            args.Add(write.FullName); // resolved here: the path was given relative to where the tool was run
        }

        return [.. args];
    }

    /// <summary>The benchmark project of the clone that <paramref name="directory"/> is in, or null outside a clone.</summary>
    internal static string? FindProject(string directory)
    {
        for (DirectoryInfo? dir = new(directory); dir is not null; dir = dir.Parent)
        {
            string project = Path.Combine(dir.FullName, ProjectInClone);
            if (File.Exists(project))
            {
                return project;
            }
        }

        return null;
    }

    /// <summary><c>dotnet run -c Release --project {project} -- {quick}</c>, with the dotnet that runs this tool when there is one.</summary>
    internal static ProcessStartInfo StartInfo(string project, IEnumerable<string> quick)
    {
        var start = new ProcessStartInfo(DotnetHost()) { UseShellExecute = false };
        foreach (string arg in (string[])["run", "-c", "Release", "--project", project, "--", .. quick])
        {
            start.ArgumentList.Add(arg);
        }

        return start;
    }

    private static string DotnetHost()
    {
        // Set by the SDK for the processes it starts (dotnet run, dotnet tool); the tool's own apphost is not a dotnet.
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host))
        {
            return host;
        }

        return Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase)
            ? self
            : "dotnet";
    }

    /// <summary>What <c>isolates bench</c> was asked for.</summary>
    public sealed record Settings(bool Ci, FileInfo? Write, string? Only, bool NoPeers);
}
