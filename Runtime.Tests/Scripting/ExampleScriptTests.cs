namespace Isolates.Tests.Scripting;

/// <summary>Every script in Examples/scripts runs with the isolates tool (in-process) and does what its README line says.</summary>
[TestFixture]
[NonParallelizable] // scripts write to the process console, which these tests capture
[CancelAfter(120_000)]
public class ExampleScriptTests
{
    private static string Script(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "Examples", "scripts", name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"Examples/scripts/{name} not found above {AppContext.BaseDirectory}");
    }

    [Test]
    public async Task Hello_PrintsIdentityAndPerIsolateStatics()
    {
        using var console = new CapturedConsole();

        var result = await CliTests.Cli("run", "--isolates", "2", Script("hello.csx"), "x");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Error);
        Assert.That(console.Text, Does.Contain("hello from isolate 'hello-0'").And.Contain("copy 2 of 2, args: [x]"));
        Assert.That(console.Text, Does.Contain("statics: here 10, in 'hello-1-child' 2 (after 1)"));
    }

    [Test]
    public async Task ParallelMap_CountsEveryFileInTheFolder()
    {
        using var temp = new TempScripts();
        temp.Write("a.txt", "one two three\nfour\n");
        temp.Write("sub/b.txt", "five six\n");
        using var console = new CapturedConsole();

        var result = await CliTests.Cli("run", Script("parallel-map.csx"), temp.Directory);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Error);
        Assert.That(console.Text, Does.Contain("2 files, 6 words"));
        Assert.That(console.Text, Does.Contain("4 words      2 lines  a.txt"));
    }

    [Test]
    public async Task Pipeline_SumsSquaresThroughThreeIsolates()
    {
        using var console = new CapturedConsole();

        var result = await CliTests.Cli("run", Script("pipeline.csx"), "500");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Error);
        Assert.That(console.Text, Does.Contain("sum of squares 1..500 = 41791750 (correct)"));
    }

    [Test]
    public async Task CoreThread_AppliesEveryUpdateInTheOwningIsolate()
    {
        using var console = new CapturedConsole();

        var result = await CliTests.Cli("run", Script("core-thread.csx"), "3", "100");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Error);
        Assert.That(console.Text, Does.Contain("bucket-0: 102").And.Contain("bucket-1: 99").And.Contain("bucket-2: 99"));
        Assert.That(console.Text, Does.Contain("core 'core' applied 300 updates from 3 workers (none lost)"));
    }

    [Test]
    public async Task Supervisor_RestartsCrashingWorkersAndFinishes()
    {
        using var console = new CapturedConsole();

        var result = await CliTests.Cli("run", Script("supervisor.csx"), "12", "5");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Error);
        Assert.That(console.Text, Does.Contain("'worker-1' crashed (System.IO.InvalidDataException: job 5 is malformed)"));
        Assert.That(console.Text, Does.Contain("'worker-2' crashed (System.InvalidOperationException: job 7 corrupted the worker's state)"));
        Assert.That(console.Text, Does.Contain("supervisor: 9 jobs done, 3 failed, 3 restarts"));
    }

    [Test]
    public async Task Supervisor_TooManyCrashes_GivesUpWithExitCodeOne()
    {
        using var console = new CapturedConsole();

        var result = await CliTests.Cli("run", Script("supervisor.csx"), "12", "1");

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(console.Text, Does.Contain("supervisor: giving up after 1 restarts"));
    }
}
