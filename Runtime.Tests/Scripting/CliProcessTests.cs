namespace Isolates.Tests.Scripting;

/// <summary><c>isolates run --process</c>: each copy of the script in a child process of its own.</summary>
[TestFixture]
[CancelAfter(120_000)]
public class CliProcessTests
{
    private TempScripts _temp = null!;

    [SetUp]
    public void SetUp() => _temp = new TempScripts();

    [TearDown]
    public void TearDown() => _temp.Dispose();

    [Test]
    public async Task Run_Process_EachCopyRunsInAChildProcess()
    {
        string path = _temp.Write("pid.csx", "return System.Environment.ProcessId == int.Parse(args[0]) ? 1 : 7;\n");

        CliTests.CliResult result = await CliTests.Cli("run", "--process", "--isolates", "2", path, Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));

        Assert.That(result.ExitCode, Is.EqualTo(7), result.Error);
    }

    [Test]
    public async Task Run_ProcessScriptExits_ToolSurvivesAndReportsHowTheCopyEnded()
    {
        string path = _temp.Write("quit.csx", "System.Environment.Exit(5);\nreturn 0;\n");

        CliTests.CliResult result = await CliTests.Cli("run", "--process", path);

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Error, Does.Contain("exit code 5"));
    }

    [Test]
    public async Task Run_ProcessMemoryLimit_ScriptPastItReportedAsTheLimit()
    {
        string path = _temp.Write("hog.csx", "var kept = new List<byte[]>();\nwhile (true) { kept.Add(new byte[1 << 20]); }\n");

        CliTests.CliResult result = await CliTests.Cli("run", "--process", "--memory-limit", "64", path);

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Error, Does.Contain("memory limit"));
    }

    [TestCase(false, "64", "needs --process")]
    [TestCase(true, "8", "at least 32 MB")]
    public async Task Run_MemoryLimitMisused_ParseErrorNamingTheFix(bool withProcess, string megabytes, string expected)
    {
        string path = _temp.Write("ok.csx", "return 0;\n");
        string[] arguments = withProcess ? ["run", "--process", "--memory-limit", megabytes, path] : ["run", "--memory-limit", megabytes, path];

        CliTests.CliResult result = await CliTests.Cli(arguments);

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Error, Does.Contain(expected));
    }
}
