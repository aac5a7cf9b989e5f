using Isolates.Scripting;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Isolates.Tests.Scripting;

/// <summary>What scripts share with other isolates: their own functions and types, #r assemblies, and unloading.</summary>
[TestFixture]
[CancelAfter(120_000)]
public class ScriptIsolationTests
{
    [Test]
    public async Task RunFileAsync_ScriptFunctionsAndShareableRecords_CrossToChildIsolates()
    {
        using var temp = new TempScripts();
        string path = temp.Write("children.csx", """
            // Functions and types defined in this script are called in child isolates, which load the same bytes.
            Counter.Bump();
            Counter.Bump();
            await using var child = await Isolate.CreateAsync();
            int square = await child.CallAsync(Square, 7);
            Point mirrored = await child.CallAsync(Mirror, new Point(1, 2));
            int childCount = await child.CallAsync(Counter.Bump);
            if (square != 49) return 1;
            if (mirrored != new Point(2, 1)) return 2;
            if (childCount != 1 || Counter.Count != 2) return 3; // statics are per isolate
            return 0;

            static int Square(int x) => x * x;
            static Point Mirror(Point p) => new(p.Y, p.X);

            [Shareable]
            public sealed record Point(int X, int Y);

            public static class Counter
            {
                public static int Count;
                public static int Bump() => ++Count;
            }
            """);

        int code = await Wait.Bounded(ScriptRunner.RunFileAsync(path));

        Assert.That(code, Is.EqualTo(0));
    }

    [Test]
    public async Task RunFileAsync_ReferencedAssembly_IsUsableInTheScriptAndItsChildren()
    {
        using var temp = new TempScripts();
        string library = Path.Combine(temp.Directory, "libs", "ScriptTestLib.dll");
        EmitLibrary(library, "public static class Greeter { public static int Calls; public static string Greet(string n) { Calls++; return \"hi \" + n; } }");
        string path = temp.Write("uses-lib.csx", """
            #r "libs/ScriptTestLib.dll"

            string local = Greeter.Greet("host");
            await using var child = await Isolate.CreateAsync();
            string remote = await child.CallAsync(Greeter.Greet, "child");
            return local == "hi host" && remote == "hi child" && Greeter.Calls == 1 ? 0 : 1;
            """);

        int code = await Wait.Bounded(ScriptRunner.RunFileAsync(path));
        CompiledScript compiled = ScriptCompiler.CompileFile(path);

        Assert.That(code, Is.EqualTo(0));
        Assert.That(compiled.References, Is.EqualTo(new[] { library }));
    }

    [Test]
    public async Task RunFileAsync_ReferencedAssemblyWithADependencyBesideIt_DependencyLoadsInTheIsolate()
    {
        using var temp = new TempScripts();
        string suffix = Guid.NewGuid().ToString("N")[..8]; // assembly names are process-wide
        string dependency = Path.Combine(temp.Directory, "libs", $"Dep{suffix}.dll");
        EmitLibrary(dependency, $"public static class Dep{suffix} {{ public static int Value => 41; }}");
        EmitLibrary(Path.Combine(temp.Directory, "libs", $"Lib{suffix}.dll"), $"public static class Lib{suffix} {{ public static int Answer() => Dep{suffix}.Value + 1; }}", dependency);
        string path = temp.Write("uses-lib-with-dependency.csx", $"#r \"libs/Lib{suffix}.dll\"\nreturn Lib{suffix}.Answer() == 42 ? 0 : 1;\n");

        int code = await Wait.Bounded(ScriptRunner.RunFileAsync(path));

        Assert.That(code, Is.EqualTo(0), "the script's #r assembly found the assembly it depends on in its own folder");
    }

    [Test]
    public void CompileFile_MissingReference_ReportsItsPath()
    {
        using var temp = new TempScripts();
        string path = temp.Write("bad-ref.csx", "#r \"nothing.dll\"\n#r \"nuget: Foo, 1.0\"\nreturn 0;\n");

        var ex = Assert.Throws<IsolateCompilationException>(() => ScriptCompiler.CompileFile(path));

        Assert.That(ex!.Diagnostics, Has.Some.StartsWith($"{path}(1,1): error ISO1002: #r \"nothing.dll\": assembly not found at"));
        Assert.That(ex.Diagnostics, Has.Some.Contains("NuGet references are not supported"));
    }

    [Test]
    public async Task CloseAsync_AfterRunningAScriptThatCrossedRecords_ContextIsCollected()
    {
        CompiledScript script = ScriptCompiler.Compile("""
            var items = Enumerable.Range(0, 50).Select(i => new Item(i, $"n{i}")).ToList();
            return items.Sum(i => i.Id) == 1225 ? 0 : 1;

            [Shareable]
            public sealed record Item(int Id, string Name);
            """);
        Isolate iso = await Isolate.CreateAsync();

        int code = await Wait.Bounded(script.RunAsync(iso));
        await Wait.Bounded(iso.CloseAsync());

        Assert.That(code, Is.EqualTo(0));
        Assert.That(iso.UnloadStatus, Is.EqualTo(UnloadStatus.Unloaded), iso.UnloadDiagnostic);
    }

    private static void EmitLibrary(string path, string source, params string[] references)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        CSharpCompilation compilation = CSharpCompilation.Create(
            Path.GetFileNameWithoutExtension(path),
            [CSharpSyntaxTree.ParseText(source)],
            [.. Basic.Reference.Assemblies.Net100.References.All, .. references.Select(r => MetadataReference.CreateFromFile(r))],
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        var result = compilation.Emit(path);
        Assert.That(result.Success, Is.True, string.Join("\n", result.Diagnostics));
    }
}
