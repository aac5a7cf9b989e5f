using System.Diagnostics;

namespace Isolates.Tests;

/// <summary>Runs a program of <c>Examples/</c> as users do (its built dll under <c>dotnet</c>), building it first if only the tests were built.</summary>
internal static class ExampleProgram
{
    /// <summary>Runs <c>Examples/{name}</c> with <paramref name="arguments"/>; gives its exit code and its output and error text.</summary>
    public static async Task<(int Exit, string Output)> RunAsync(string name, params string[] arguments)
    {
        string repository = FindRepository();
        string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";
        string dll = Path.Combine(repository, "Examples", name, "bin", configuration, "net10.0", name + ".dll");
        if (!File.Exists(dll))
        {
            // Built with the solution; when only the test project was built, build the example now.
            (int built, string buildOutput) = await DotnetAsync("build", Path.Combine(repository, "Examples", name), "-c", configuration);
            Assert.That(built, Is.EqualTo(0), buildOutput);
        }

        return await DotnetAsync([dll, .. arguments]);
    }

    private static async Task<(int Exit, string Output)> DotnetAsync(params string[] arguments)
    {
        var info = new ProcessStartInfo(Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(150));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true); // and whatever the example started (child isolates, silo processes)
            throw;
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    private static string FindRepository()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Isolates.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"Isolates.sln not found above {AppContext.BaseDirectory}");
    }
}
