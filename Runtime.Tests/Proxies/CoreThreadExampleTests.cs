using System.Diagnostics;

namespace Isolates.Tests.Proxies;

/// <summary>Examples/CoreThread (workers in a pool update a core object through a proxy) passes its own self-test.</summary>
[TestFixture]
[CancelAfter(180_000)]
public class CoreThreadExampleTests
{
    [Test]
    public async Task CoreThreadExample_SelfTest_ExitsZeroWithEveryUpdateAppliedExactlyOnce()
    {
        string repository = FindRepository();
        string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";
        string dll = Path.Combine(repository, "Examples", "CoreThread", "bin", configuration, "net10.0", "CoreThread.dll");
        if (!File.Exists(dll))
        {
            // Built with the solution; when only the test project was built, build the example now.
            (int built, string buildOutput) = await RunAsync("build", Path.Combine(repository, "Examples", "CoreThread"), "-c", configuration);
            Assert.That(built, Is.EqualTo(0), buildOutput);
        }

        (int exit, string output) = await RunAsync(dll, "3", "1000", "--self-test");
        TestContext.Out.WriteLine(output);
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.EqualTo(0), output);
            Assert.That(output, Does.Contain("applied 3000 updates from 3 workers").And.Contain("core thread: exact"));
            Assert.That(output, Does.Not.Contain("FAIL"));
        });
    }

    private static async Task<(int Exit, string Output)> RunAsync(params string[] arguments)
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
            process.Kill(entireProcessTree: true);
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
