using System.Text.RegularExpressions;
using Isolates.Scripting;

namespace Isolates.Tests.Scripting;

[TestFixture]
[CancelAfter(120_000)] // Roslyn's first compile in the process takes seconds on a busy machine
public partial class ScriptTests
{
    [GeneratedRegex(@"^.+\(\d+,\d+\): error (CS|ISO)\d{4}: .+$")]
    private static partial Regex DiagnosticLine();

    [Test]
    public async Task ExecAsync_TopLevelStatements_RunOnTheIsolatesThreadWithItsIdentity()
    {
        using var temp = new TempScripts();
        string marker = Path.Combine(temp.Directory, "marker.txt");
        await using Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Name = "exec-target" });

        await Wait.Bounded(iso.ExecAsync($$"""
            var current = Isolate.Current ?? throw new InvalidOperationException("not in an isolate");
            File.WriteAllText(@"{{marker}}", $"{current.Name}|{current.Id}");
            """));

        Assert.That(File.ReadAllText(marker), Is.EqualTo($"exec-target|{iso.Id}"));
    }

    [Test]
    public async Task EvalAsync_Expression_ReturnsItsValue()
    {
        await using Isolate iso = await Isolate.CreateAsync();

        int sum = await Wait.Bounded(iso.EvalAsync<int>("Enumerable.Range(1, 10).Sum()"));
        string name = await Wait.Bounded(iso.EvalAsync<string>("Isolate.Current!.Name"));
        List<long> list = await Wait.Bounded(iso.EvalAsync<List<long>>("new List<long> { 1, 2 }"));

        Assert.That(sum, Is.EqualTo(55));
        Assert.That(name, Is.EqualTo(iso.Name));
        Assert.That(list, Is.EqualTo(new[] { 1L, 2L }));
    }

    [Test]
    public async Task EvalAsync_SameExpressionInManyIsolates_CompilesOnce()
    {
        const string Expression = "Isolate.Current!.Id * 2";
        await using Isolate first = await Isolate.CreateAsync();
        await Wait.Bounded(first.EvalAsync<long>(Expression));
        long before = ScriptCompiler.CompilationCount;

        var isolates = new List<Isolate>();
        for (int i = 0; i < 4; i++)
        {
            isolates.Add(await Isolate.CreateAsync());
        }

        long[] results = await Wait.Bounded(Task.WhenAll(isolates.Select(iso => iso.EvalAsync<long>(Expression))));
        await Task.WhenAll(isolates.Select(iso => iso.CloseAsync()));

        Assert.That(ScriptCompiler.CompilationCount, Is.EqualTo(before), "every isolate reused the cached compilation");
        Assert.That(results, Is.EqualTo(isolates.Select(iso => iso.Id * 2)));
    }

    [Test]
    public async Task EvalAsync_ResultTypeFromTheCallersLibrary_IsReferencedAndCrossesAsAValue()
    {
        await using Isolate iso = await Isolate.CreateAsync();

        Isolates.Tests.Support.Point p = await Wait.Bounded(iso.EvalAsync<Isolates.Tests.Support.Point>(
            "Isolates.Tests.Support.Geometry.Scale(new Isolates.Tests.Support.Point(1, 2), 3)"));

        Assert.That(p, Is.EqualTo(new Isolates.Tests.Support.Point(3, 6)));
    }

    [Test]
    public async Task ExecAsync_CancelledToken_CompletesAsCancelled()
    {
        await using Isolate iso = await Isolate.CreateAsync();
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        Assert.That(() => iso.ExecAsync("return 0;", cts.Token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(() => iso.ExecAsync(null!), Throws.ArgumentNullException);
        Assert.That(() => iso.EvalAsync<int>(" "), Throws.ArgumentException);
    }

    [Test]
    public async Task RunFileAsync_Cancelled_ClosesTheIsolateWhichEndsTheScriptsWait()
    {
        using var temp = new TempScripts();
        string path = temp.Write("waits.csx", "await Task.Delay(Timeout.Infinite, Isolate.Current!.ClosingToken);\n");
        ScriptCompiler.CompileFile(path); // compile outside the timed part
        var before = Isolate.All.Select(i => i.Id).ToHashSet();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        Assert.That(() => Wait.Bounded(ScriptRunner.RunFileAsync(path, cancellationToken: cts.Token)), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(Isolate.All.Where(i => !before.Contains(i.Id)), Is.Empty, "the isolate was closed");
        await Task.CompletedTask;
    }

    [Test]
    public async Task Compile_WaiterCancelsWhileAnotherCallerCompiles_OnlyTheWaiterStops()
    {
        string source = $"return {Environment.TickCount64 % 1000 + 2000};";
        using var started = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        ScriptCompiler.BuildStarting = () =>
        {
            started.Set();
            release.Wait(Wait.Timeout);
        };
        try
        {
            Task<CompiledScript> owner = Task.Run(() => ScriptCompiler.Compile(source));
            Assert.That(started.Wait(Wait.Timeout), Is.True, "the first caller started compiling");
            ScriptCompiler.BuildStarting = null;

            // A second caller for the same source waits for that compilation; its own token ends its wait.
            using var waiterGivesUp = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
            Task<CompiledScript> waiter = Task.Run(() => ScriptCompiler.Compile(source, cancellationToken: waiterGivesUp.Token));
            Assert.CatchAsync<OperationCanceledException>(() => waiter.WaitAsync(Wait.Timeout));
            Assert.That(owner.IsCompleted, Is.False, "the owner's compilation goes on");

            release.Set();
            CompiledScript compiled = await Wait.Bounded(owner);
            Assert.That(ScriptCompiler.Compile(source), Is.SameAs(compiled), "the finished compilation is cached for everyone");
        }
        finally
        {
            ScriptCompiler.BuildStarting = null;
            release.Set();
        }
    }

    [Test]
    public void Compile_SameSourceTwice_ReturnsTheSameCompiledScript()
    {
        CompiledScript first = ScriptCompiler.Compile("return 7;");
        long before = ScriptCompiler.CompilationCount;

        CompiledScript second = ScriptCompiler.Compile("return 7;");
        CompiledScript other = ScriptCompiler.Compile("return 8;");

        Assert.That(second, Is.SameAs(first));
        Assert.That(other.AssemblyName, Is.Not.EqualTo(first.AssemblyName), "each distinct script gets its own assembly name");
        Assert.That(ScriptCompiler.CompilationCount, Is.EqualTo(before + 1), "only the new source compiled");
        Assert.That(first.AssemblyName, Does.StartWith("IsolatesScript_").And.Contains(first.Hash[..20]));
    }

    [Test]
    public async Task ExecAsync_SameNewScriptInEightIsolatesAtOnce_CompilesOnce()
    {
        string source = $"var unique = \"{Guid.NewGuid()}\";\nreturn unique.Length == 36 ? 0 : 1;\n";
        var isolates = new List<Isolate>();
        try
        {
            for (int i = 0; i < 8; i++)
            {
                isolates.Add(await Wait.Bounded(Isolate.CreateAsync()));
            }

            long before = ScriptCompiler.CompilationCount;
            using var go = new ManualResetEventSlim();
            Task[] runs = [.. isolates.Select(iso => Task.Run(async () =>
            {
                go.Wait();
                await iso.ExecAsync(source);
            }))];
            go.Set();
            await Task.WhenAll(runs).WaitAsync(TimeSpan.FromSeconds(90));

            Assert.That(ScriptCompiler.CompilationCount, Is.EqualTo(before + 1));
        }
        finally
        {
            await Task.WhenAll(isolates.Select(i => i.CloseAsync())).WaitAsync(Wait.Timeout);
        }
    }

    [Test]
    public void Compile_SeveralErrors_ListsEveryDiagnosticWithFileLineAndColumn()
    {
        var ex = Assert.Throws<IsolateCompilationException>(() => ScriptCompiler.Compile("""
            int x = "not a number";
            Console.WriteLine(y);
            """));

        Assert.That(ex!.Diagnostics, Has.Count.EqualTo(2));
        Assert.That(ex.Diagnostics, Has.All.Match(DiagnosticLine().ToString()));
        Assert.That(ex.Diagnostics[0], Does.StartWith("script.csx(1,9): error CS0029: "));
        Assert.That(ex.Diagnostics[1], Does.StartWith("script.csx(2,19): error CS0103: The name 'y' does not exist"));
        Assert.That(ex.Message, Does.Contain("2 errors").And.Contain("CS0029").And.Contain("CS0103"));
        Assert.That(ex, Is.InstanceOf<IsolateException>());
    }

    [Test]
    public void EvalAsync_BadExpression_ReportsTheExpressionsOwnColumn()
    {
        using var scope = new IsolateScope();

        var ex = Assert.ThrowsAsync<IsolateCompilationException>(async () => await Wait.Bounded(scope.Isolate.EvalAsync<int>("1 + nope")));

        Assert.That(ex!.Diagnostics, Has.Count.EqualTo(1));
        Assert.That(ex.Diagnostics[0], Does.StartWith("script.csx(1,5): error CS0103"));
    }

    [Test]
    public async Task RunFileAsync_CompileError_ThrowsAndLeavesNoIsolateBehind()
    {
        using var temp = new TempScripts();
        string path = temp.Write("broken.csx", "Console.WriteLine(\"a\")\nundefined();\n");
        var before = Isolate.All.Select(i => i.Id).ToHashSet();

        var ex = Assert.ThrowsAsync<IsolateCompilationException>(() => Wait.Bounded(ScriptRunner.RunFileAsync(path)));

        Assert.That(ex!.ScriptPath, Is.EqualTo(path));
        Assert.That(ex.Diagnostics, Has.Count.EqualTo(2));
        Assert.That(ex.Diagnostics[0], Does.StartWith($"{path}(1,23): error CS1002"));
        Assert.That(ex.Diagnostics[1], Does.StartWith($"{path}(2,1): error CS0103"));
        Assert.That(Isolate.All.Where(i => !before.Contains(i.Id)), Is.Empty);
        await Task.CompletedTask;
    }

    [Test]
    public void RunFileAsync_MissingFile_ThrowsFileNotFound()
    {
        var ex = Assert.ThrowsAsync<FileNotFoundException>(() => ScriptRunner.RunFileAsync("/no/such/script.csx"));

        Assert.That(ex!.Message, Does.Contain("/no/such/script.csx"));
    }

    [Test]
    public async Task ExecAsync_ScriptThrows_IsolateExecutionExceptionWithScriptLineAndIsolateStaysUsable()
    {
        await using Isolate iso = await Isolate.CreateAsync();

        var ex = Assert.ThrowsAsync<IsolateExecutionException>(() => Wait.Bounded(iso.ExecAsync("""
            Console.Write("");
            Fail(3);
            [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
            static void Fail(int n) => throw new InvalidOperationException($"boom {n}");
            """)));

        Assert.That(ex!.RemoteType, Is.EqualTo("System.InvalidOperationException"));
        Assert.That(ex.Message, Is.EqualTo("boom 3"));
        Assert.That(ex.RemoteStackTrace, Does.Contain("script.csx:line 4").And.Contain("script.csx:line 2"));
        Assert.That(await Wait.Bounded(iso.EvalAsync<int>("1 + 1")), Is.EqualTo(2), "the isolate is still usable");
    }

    [Test]
    public async Task RunAsync_ReturnValueAndArgs_BecomeExitCodeAndScriptEnvironment()
    {
        CompiledScript script = ScriptCompiler.Compile("""
            await Task.Yield();
            if (Isolate.Current is null) return 99;
            return args.Length * 100 + ScriptEnvironment.Index * 10 + ScriptEnvironment.Count + (ScriptEnvironment.Args.SequenceEqual(args) ? 0 : 1000);
            """);
        await using Isolate iso = await Isolate.CreateAsync();

        int single = await Wait.Bounded(script.RunAsync(iso));
        int copy = await Wait.Bounded(script.RunAsync(iso, ["a", "b"], new ScriptRunOptions { Index = 2, Count = 3 }));

        Assert.That(single, Is.EqualTo(1));
        Assert.That(copy, Is.EqualTo(223));
        Assert.Throws<ArgumentOutOfRangeException>(() => script.RunAsync(iso, null, new ScriptRunOptions { Index = 3, Count = 3 }));
    }

    [Test]
    public async Task RunFileAsync_ReturnsExitCodeAndClosesTheIsolate()
    {
        using var temp = new TempScripts();
        string path = temp.Write("three.csx", "#!/usr/bin/env isolates\n// exits with 3\nreturn ScriptEnvironment.ScriptPath!.EndsWith(\"three.csx\") ? 3 : 1;\n");
        var before = Isolate.All.Select(i => i.Id).ToHashSet();

        int code = await Wait.Bounded(ScriptRunner.RunFileAsync(path));

        Assert.That(code, Is.EqualTo(3));
        Assert.That(Isolate.All.Where(i => !before.Contains(i.Id)), Is.Empty);
    }

    [Test]
    public async Task RunFileAsync_NestedLoads_EachFileOnceRelativeToTheLoadingFile()
    {
        using var temp = new TempScripts();
        temp.Write("lib/shapes.csx", """
            #load "../common.csx"
            public static class Shapes { public static int Area(int w, int h) => Common.Twice(w * h) / 2; }
            """);
        temp.Write("common.csx", """
            // loaded twice (by main and by lib/shapes.csx), compiled once
            public static class Common { public static int Twice(int x) => x * 2; }
            """);
        string main = temp.Write("main.csx", """
            #load "lib/shapes.csx"
            #load "common.csx"

            return Shapes.Area(2, 3) + Common.Twice(1);
            """);

        int code = await Wait.Bounded(ScriptRunner.RunFileAsync(main));
        CompiledScript compiled = ScriptCompiler.CompileFile(main);

        Assert.That(code, Is.EqualTo(8));
        Assert.That(compiled.SourceFiles.Select(Path.GetFileName), Is.EqualTo(new[] { "common.csx", "shapes.csx", "main.csx" }));
    }

    [Test]
    public void CompileFile_MissingLoadAndDirectiveAfterCode_ReportedAtTheirLines()
    {
        using var temp = new TempScripts();
        string main = temp.Write("main.csx", "#load \"missing.csx\"\nConsole.WriteLine();\n#r \"late.dll\"\n");

        var ex = Assert.Throws<IsolateCompilationException>(() => ScriptCompiler.CompileFile(main));

        Assert.That(ex!.Diagnostics, Has.Some.StartsWith($"{main}(1,1): error ISO1001: #load \"missing.csx\": cannot read"));
        Assert.That(ex.Diagnostics, Has.Some.StartsWith($"{main}(3,1): error ISO1004: #r must come before the first line of code"));
    }
}
