using Isolates.Cli;

namespace Isolates.Tests.Scripting;

/// <summary>The isolates tool, run in-process through <see cref="CliApp.RunAsync"/> with its own writers.</summary>
[TestFixture]
[NonParallelizable] // scripts write to the process console, which these tests capture
[CancelAfter(120_000)]
public class CliTests
{
    private TempScripts _temp = null!;

    [SetUp]
    public void SetUp() => _temp = new TempScripts();

    [TearDown]
    public void TearDown() => _temp.Dispose();

    [Test]
    public async Task Run_ScriptReturnsThree_ExitCodeIsThreeAndArgumentsArrive()
    {
        string path = _temp.Write("three.csx", "Console.WriteLine(string.Join('|', args));\nreturn 3;\n");
        using var console = new CapturedConsole();

        CliResult result = await Cli("run", path, "a", "--not-an-option", "b");

        Assert.That(result.ExitCode, Is.EqualTo(3), result.Error);
        Assert.That(console.Text, Is.EqualTo("a|--not-an-option|b" + Environment.NewLine));
        Assert.That(result.Error, Is.Empty);
    }

    [Test]
    public async Task Run_ScriptThrows_ExitsOneWithTypeMessageAndOnlyScriptFrames()
    {
        string path = _temp.Write("crash.csx", """
            Check(0);

            // Scripts are compiled optimized, so the JIT may inline a small function and drop its frame.
            [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
            static void Check(int n)
            {
                if (n == 0) throw new InvalidOperationException("n must not be zero", new FormatException("inner cause"));
            }
            """);

        CliResult result = await Cli("run", path);

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Error, Does.StartWith("error: System.InvalidOperationException: n must not be zero"));
        Assert.That(result.Error, Does.Contain("Check(Int32 n) in ").And.Contain("crash.csx:line 7").And.Contain("<top-level statements> in ").And.Contain("crash.csx:line 1"));
        Assert.That(result.Error, Does.Contain("---> System.FormatException: inner cause"));
        Assert.That(result.Error, Does.Not.Contain("System.Reflection").And.Not.Contain("Isolates.Scripting").And.Not.Contain("Isolates.Calls"));
    }

    [Test]
    public async Task Run_ExceptionEscapesOutsideTheScriptsCall_PrintsTheFaultAndExitsOne()
    {
        string path = _temp.Write("escape.csx", """
            Escape();
            await Task.Delay(Timeout.Infinite, Isolate.Current!.ClosingToken);

            static async void Escape()
            {
                await Task.Yield();
                throw new ArgumentException("escaped from async void");
            }
            """);

        CliResult result = await Cli("run", path);

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Error, Does.StartWith("error: the script's isolate faulted."));
        Assert.That(result.Error, Does.Contain("error: System.ArgumentException: escaped from async void").And.Contain("escape.csx:line 7"));
    }

    [Test]
    public async Task Run_IsolatesThree_RunsEachCopyWithItsIndex()
    {
        string path = _temp.Write("copies.csx", """
            File.WriteAllText(Path.Combine(args[0], $"copy-{ScriptEnvironment.Index}-of-{ScriptEnvironment.Count}.txt"), Isolate.Current!.Name);
            return ScriptEnvironment.Index == 1 ? 7 : 0;
            """);

        CliResult result = await Cli("run", "--isolates", "3", path, _temp.Directory);

        Assert.That(result.ExitCode, Is.EqualTo(7), "the first non-zero exit code wins");
        Assert.That(
            Directory.GetFiles(_temp.Directory, "copy-*").Select(Path.GetFileName).Order(),
            Is.EqualTo(new[] { "copy-0-of-3.txt", "copy-1-of-3.txt", "copy-2-of-3.txt" }));
        Assert.That(File.ReadAllText(Path.Combine(_temp.Directory, "copy-2-of-3.txt")), Is.EqualTo("copies-2"));
    }

    [Test]
    public async Task Run_IsolatesEightAllThrow_EachCopysErrorBlockStaysTogether()
    {
        string path = _temp.Write("many.csx", """
            Fail(ScriptEnvironment.Index);

            [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
            static void Fail(int index) => throw new InvalidOperationException($"copy {index} failed", new FormatException($"cause {index}"));
            """);

        CliResult result = await Cli("run", "--isolates", "8", path);

        Assert.That(result.ExitCode, Is.EqualTo(1));
        string[] lines = result.Error.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        string[] prefixes = [.. lines.Select(line => line[..line.IndexOf(']', StringComparison.Ordinal)])];
        Assert.That(prefixes.Distinct().Count(), Is.EqualTo(8), result.Error);
        for (int i = 1; i < prefixes.Length; i++)
        {
            // Once a copy's block has ended, none of its lines may appear again.
            Assert.That(prefixes[i] == prefixes[i - 1] || !prefixes[..(i - 1)].Contains(prefixes[i]), $"copy {prefixes[i]}] interleaved:{Environment.NewLine}{result.Error}");
        }
    }

    [Test]
    public async Task Run_ScriptReturns256_ExitCodeStaysAFailureOnEveryOs()
    {
        string path = _temp.Write("big.csx", "return 256;\n");

        CliResult result = await Cli("run", path);

        Assert.That(result.ExitCode & 0xFF, Is.Not.EqualTo(0), "Unix keeps only the low 8 bits of an exit code: 256 would read as success");
    }

    [Test]
    public async Task Run_Cancelled_ClosesTheScriptsIsolateAndExits130()
    {
        string started = Path.Combine(_temp.Directory, "started.txt");
        string path = _temp.Write("waits.csx", $$"""
            File.WriteAllText(@"{{started}}", "yes");
            await Task.Delay(Timeout.Infinite, Isolate.Current!.ClosingToken);
            """);
        var before = Isolate.All.Select(i => i.Id).ToHashSet();
        using var cts = new CancellationTokenSource();
        using var output = new StringWriter();
        using var error = new StringWriter();

        Task<int> run = CliApp.RunAsync(["run", path], output, error, cts.Token);
        await Isolates.Tests.Diagnostics.Poll.Until(() => File.Exists(started) || run.IsCompleted, "the script to start", TimeSpan.FromSeconds(90));
        await cts.CancelAsync();
        int code = await run.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.That(code, Is.EqualTo(130), error.ToString());
        Assert.That(error.ToString(), Does.Not.Contain("Unhandled exception"));
        Assert.That(Isolate.All.Where(i => !before.Contains(i.Id)), Is.Empty, "the script's isolate was closed");
    }

    [Test]
    public async Task Run_CompileError_ExitsOneWithDiagnosticsAndNoIsolate()
    {
        string path = _temp.Write("bad.csx", "int x = \"text\";\nmissing();\n");
        var before = Isolate.All.Select(i => i.Id).ToHashSet();

        CliResult result = await Cli("run", path);

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Error, Does.Contain($"{path}(1,9): error CS0029").And.Contain($"{path}(2,1): error CS0103"));
        Assert.That(Isolate.All.Where(i => !before.Contains(i.Id)), Is.Empty);
    }

    [Test]
    public async Task Check_ScriptWithErrors_PrintsEveryDiagnosticAndExitsOne()
    {
        string path = _temp.Write("bad.csx", "int x = \"text\";\nmissing();\n");

        CliResult result = await Cli("check", path);

        Assert.That(result.ExitCode, Is.EqualTo(1));
        string[] lines = result.Output.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(3));
        Assert.That(lines[0], Does.StartWith($"{path}(1,9): error CS0029: "));
        Assert.That(lines[1], Does.StartWith($"{path}(2,1): error CS0103: "));
        Assert.That(lines[2], Is.EqualTo("failed: bad.csx has 2 errors."));
    }

    [Test]
    public async Task Check_GoodScript_ExitsZeroWithoutRunningIt()
    {
        string path = _temp.Write("good.csx", "throw new InvalidOperationException(\"must not run\");\n");

        CliResult result = await Cli("check", path);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Output + result.Error);
        Assert.That(result.Output, Does.StartWith("ok: good.csx compiles (1 file, 0 warnings)."));
    }

    [TestCase("run")]
    [TestCase("check")]
    public async Task Command_MissingScriptFile_ExitsTwoNamingThePath(string command)
    {
        string path = Path.Combine(_temp.Directory, "nope.csx");

        CliResult result = await Cli(command, path);

        Assert.That(result.ExitCode, Is.EqualTo(2), "a path that is not there is a usage error");
        Assert.That(result.Error, Is.EqualTo($"error: there is no script file at '{path}' (see 'isolates {command} --help')" + Environment.NewLine));
    }

    [Test]
    public async Task Run_IsolatesOutOfRange_IsAParseError()
    {
        string path = _temp.Write("ok.csx", "return 0;\n");

        CliResult result = await Cli("run", "--isolates", "0", path);

        Assert.That(result.ExitCode, Is.Not.EqualTo(0));
        Assert.That(result.Error, Does.Contain("--isolates must be from 1 to 1024 (was 0)."));
    }

    [TestCase("run", "--isolates", "x", "ok.csx")]
    [TestCase("run", "--isolates", "99999999999", "ok.csx")]
    [TestCase("run", "--isolates")]
    [TestCase("run", "--frobnicate", "ok.csx")]
    [TestCase("run")]
    [TestCase("check")]
    [TestCase("check", "a.csx", "b.csx")]
    [TestCase("teleport")]
    [TestCase("bench", "--ci", "--ci=maybe")]
    [TestCase]
    public async Task AnyCommand_InvalidInput_OneLinePerMistakeAndExitCodeTwo(params string[] args)
    {
        string[] withPaths = [.. args.Select(a => a.EndsWith(".csx", StringComparison.Ordinal) ? _temp.Write(a, "return 0;\n") : a)];

        CliResult result = await Cli(withPaths);

        Assert.That(result.ExitCode, Is.EqualTo(2), result.Error);
        string[] lines = result.Error.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Multiple(() =>
        {
            Assert.That(lines, Is.Not.Empty);
            Assert.That(lines, Has.All.StartWith("error: ").And.All.Contain("--help"), result.Error);
            Assert.That(result.Error, Does.Not.Contain("   at "), "no stack trace");
        });
    }

    [TestCase("teleport")]
    [TestCase("--frobnicate")]
    public async Task Root_UnknownCommandOrOption_OneLineNamingItAndExitCodeTwo(string word)
    {
        // Before: two lines, "Required command was not provided." first, for what is one mistake (a mistyped command).
        CliResult result = await Cli(word);

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Error, Is.EqualTo($"error: Unrecognized command or argument '{word}'. (see 'isolates --help')" + Environment.NewLine));
    }

    [Test]
    public async Task Help_ListsTheCommands()
    {
        CliResult result = await Cli("--help");

        Assert.That(result.ExitCode, Is.EqualTo(0));
        Assert.That(result.Output, Does.Contain("run <script> <args>").And.Contain("check <script>").And.Contain("bench").And.Contain("--version"));
    }

    [Test]
    public async Task BenchHelp_DescribesTheQuickBenchmarkOptions()
    {
        CliResult result = await Cli("bench", "--help");

        Assert.That(result.ExitCode, Is.EqualTo(0));
        Assert.That(result.Output, Does.Contain("quick benchmarks").And.Contain("--ci").And.Contain("--write <PATH>")
            .And.Contain("--only <FIGURE>").And.Contain("--no-peers"));
        Assert.That(result.Output, Does.Contain("clone of the repository").And.Contain("tools/Isolates.Benchmarks"), "says where it works");
    }

    [Test]
    public void Tool_References_NoBenchmarkOrPeerAssembly()
    {
        // The tool package carries what the tool references: the benchmarks brought BenchmarkDotNet, Akka.NET,
        // Proto.Actor and native libraries (16 MB) into every user's install.
        string[] referenced = [.. typeof(CliApp).Assembly.GetReferencedAssemblies().Select(a => a.Name!)];

        Assert.That(referenced, Has.None.StartsWith("Isolates.Benchmarks").And.None.StartsWith("BenchmarkDotNet")
            .And.None.StartsWith("Akka").And.None.StartsWith("Proto."));
    }

    [Test]
    public async Task Bench_OutsideAClone_OneLineErrorSayingWhereItRunsAndExitCodeTwo()
    {
        string outside = Directory.CreateTempSubdirectory("isolates-no-clone-").FullName;
        try
        {
            using var output = new StringWriter();
            using var error = new StringWriter();

            int code = await BenchCommand.ExecuteAsync(new Terminal(output, error), new BenchCommand.Settings(true, null, null, true), CancellationToken.None, searchFrom: outside);

            Assert.That(code, Is.EqualTo(2));
            string[] lines = error.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
            Assert.That(lines, Has.Length.EqualTo(1), error.ToString());
            Assert.That(lines[0], Does.StartWith("error: 'isolates bench' runs the benchmarks of a clone of the repository")
                .And.Contain(outside).And.Contain(RepositoryInfo.Url).And.Contain("isolates bench --help"));
            Assert.That(RepositoryInfo.Url, Does.StartWith("https://"));
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Test]
    public void Bench_InAClone_RunsTheBenchmarkProjectsQuickModeWithTheOptions()
    {
        string? project = BenchCommand.FindProject(TestContext.CurrentContext.TestDirectory); // the tests run inside the clone
        Assert.That(project, Is.Not.Null.And.EndsWith(BenchCommand.ProjectInClone));
        Assert.That(File.Exists(project), Is.True);

        string[] quick = BenchCommand.QuickArguments(new BenchCommand.Settings(Ci: true, Write: null, Only: "channels", NoPeers: true));
        System.Diagnostics.ProcessStartInfo start = BenchCommand.StartInfo(project!, quick);

        Assert.That(start.ArgumentList, Is.EqualTo((string[])["run", "-c", "Release", "--project", project!, "--", "--quick", "--ci", "--no-peers", "--only", "channels"]));
        Assert.That(start.UseShellExecute, Is.False);
    }

    [Test]
    public async Task Bench_UnknownFigure_FailsNamingTheFiguresThereAre()
    {
        CliResult result = await Cli("bench", "--only", "teleport");

        Assert.That(result.ExitCode, Is.Not.EqualTo(0));
        Assert.That(result.Error, Does.Contain("teleport").And.Contain("channels").And.Contain("round-trip"));
    }

    [Test]
    public async Task Bench_OnlyWithWrite_RefusedBecauseTheReportMustHoldEveryFigure()
    {
        CliResult result = await Cli("bench", "--only", "channels", "--write", Path.Combine(Path.GetTempPath(), "partial.md"));

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Error, Does.Contain("--only").And.Contain("--write"));
    }

    [Test]
    public async Task Version_PrintsTheToolVersion()
    {
        CliResult result = await Cli("--version");

        Assert.That(result.ExitCode, Is.EqualTo(0));
        Assert.That(result.Output, Does.Match(@"^\d+\.\d+\.\d+"));
    }

    internal static async Task<CliResult> Cli(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int code = await CliApp.RunAsync(args, output, error).WaitAsync(TimeSpan.FromSeconds(90));
        return new CliResult(code, output.ToString(), error.ToString());
    }

    internal sealed record CliResult(int ExitCode, string Output, string Error);
}
