using System.Collections.Immutable;
using System.Globalization;
using Isolates.Analyzers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Isolates.Tests.Analyzers;

/// <summary>
/// Compiles C# snippets with [IsolateInterface] interfaces (and the shareable analyzer beside, as in a user's build)
/// and checks the exact diagnostics ISO007-ISO015 report: id, the member named, and what to do.
/// </summary>
[TestFixture]
public class IsolateInterfaceAnalyzerTests
{
    private const string Usings = """
        using System;
        using System.Collections.Generic;
        using System.IO;
        using System.Threading;
        using System.Threading.Channels;
        using System.Threading.Tasks;
        using Isolates;
        using MessagePack;

        """;

    // ---- interfaces that must build ----

    [Test]
    public async Task Analyze_InterfaceOfTheIssue_ReportsNothing()
    {
        string[] diagnostics = await AnalyzeAsync("""
            [IsolateInterface]
            public interface IInventory
            {
                Task<int> AddAsync(string sku, int count, CancellationToken cancellationToken = default);
                ValueTask<int> CountAsync(string sku);
                Task ResetAsync();
                ValueTask FlushAsync(CancellationToken cancellationToken);
            }
            """);

        Assert.That(diagnostics, Is.Empty);
    }

    [Test]
    public async Task Analyze_ShareableParametersAndResults_ReportsNothing()
    {
        string[] diagnostics = await AnalyzeAsync("""
            public enum Colour { Red, Green }

            [Shareable]
            public sealed record Line(string Sku, decimal Price);

            [MessagePackObject]
            public sealed record Packed([property: Key(0)] int A);

            [IsolateInterface]
            public interface ICore
            {
                Task AddAsync(Line line, Packed packed, Colour colour);
                Task MoreAsync(int? maybe, params int[] more);
                Task<List<Line>> LinesAsync(IReadOnlyDictionary<string, int[]> filter);
                Task<Line?> FindAsync(Guid id, DateTimeOffset when, ReadOnlyMemory<byte> key);
                Task SubscribeAsync(ChannelWriter<Line> updates, ChannelReader<string> commands);
                Task<IWorker> SpawnAsync(IWorker parent);
            }

            [IsolateInterface]
            public interface IWorker
            {
                Task<ICore> CoreAsync();
            }
            """);

        Assert.That(diagnostics, Is.Empty);
    }

    [Test]
    public async Task Analyze_AsyncEnumerableResult_ReportsIso007AdvisingAChannelReader()
    {
        // The generated proxy does not carry IAsyncEnumerable<T> (IsolateInterfaceAnalyzer.AllowsAsyncEnumerableResults).
        string[] diagnostics = await AnalyzeAsync("""
            [IsolateInterface]
            public interface IFeed
            {
                IAsyncEnumerable<string> ReadAsync(int from, CancellationToken cancellationToken = default);
            }
            """);

        Assert.That(diagnostics, Is.EqualTo(new[]
        {
            "ISO007 IFeed.ReadAsync: returns System.Collections.Generic.IAsyncEnumerable<System.String>; a proxy call runs in another isolate, so the caller can only await it: return Task<ChannelReader<System.String>> to stream items (make the channel with IsolateChannel: it crosses isolates with back-pressure)",
        }));
    }

    [Test]
    public async Task Analyze_StaticAndPrivateMembersWithBodies_ReportsNothing()
    {
        // They run where they are called and never go through the proxy.
        string[] diagnostics = await AnalyzeAsync("""
            [IsolateInterface]
            public interface ICounter
            {
                const int Max = 10;
                static int Created { get; set; }
                static int Twice(int x) => x * 2;
                static virtual int Thrice(int x) => x * 3;
                static event Action? Changed;
                Task<int> NextAsync();
                private int Local() => 1;
                sealed int Sealed() => Local();
            }
            """);

        Assert.That(diagnostics, Is.Empty);
    }

    [Test]
    public async Task Analyze_InheritsIsolateInterfaceAndMarkerInterface_ReportsNothing()
    {
        string[] diagnostics = await AnalyzeAsync("""
            public interface IMarker { }

            [IsolateInterface]
            public interface IReader
            {
                Task<string> ReadAsync(string key);
            }

            [IsolateInterface]
            public interface IStore : IReader, IMarker
            {
                Task WriteAsync(string key, string value);
            }
            """);

        Assert.That(diagnostics, Is.Empty);
    }

    [Test]
    public async Task Analyze_InterfaceWithoutAttribute_ReportsNothing()
    {
        string[] diagnostics = await AnalyzeAsync("""
            public interface IPlain
            {
                int Count { get; }
                void Reset(ref int x);
                T Get<T>();
            }
            """);

        Assert.That(diagnostics, Is.Empty);
    }

    [Test]
    public async Task Analyze_ShareableRecordWithProxyMember_ReportsNothing()
    {
        // A proxy crosses like a channel end, so it is shareable where ISO002 and ISO005 check members too.
        string[] diagnostics = await AnalyzeAsync("""
            [IsolateInterface]
            public interface IOrders
            {
                Task PlaceAsync(string sku);
            }

            [Shareable]
            public sealed record Job(string Name, IOrders Orders, List<IOrders> More);

            [MessagePackObject]
            public sealed record Packed([property: Key(0)] IOrders Orders);
            """);

        Assert.That(diagnostics, Is.Empty);
    }

    // ---- ISO007: a method that does not return a task ----

    [Test]
    public async Task Analyze_SynchronousMethods_ReportsIso007WithTheAsyncReturnType()
    {
        string[] diagnostics = await AnalyzeAsync("""
            [IsolateInterface]
            public interface IInventory
            {
                int Count(string sku);
                void Reset();
                IEnumerable<string> Skus();
                string Describe() => "inventory";
            }
            """);

        Assert.That(diagnostics, Is.EqualTo(new[]
        {
            "ISO007 IInventory.Count: returns System.Int32; a proxy call runs in another isolate, so the caller can only await it: return Task<System.Int32> or ValueTask<System.Int32>",
            "ISO007 IInventory.Reset: returns void; a proxy call runs in another isolate, so the caller can only await it: return Task or ValueTask",
            "ISO007 IInventory.Skus: returns System.Collections.Generic.IEnumerable<System.String>; a proxy call runs in another isolate, so the caller can only await it: return Task<System.Collections.Generic.IEnumerable<System.String>> or ValueTask<System.Collections.Generic.IEnumerable<System.String>>",
            "ISO007 IInventory.Describe: returns System.String; a proxy call runs in another isolate, so the caller can only await it: return Task<System.String> or ValueTask<System.String>",
        }));
    }

    // ---- ISO008: properties, indexers, events, static abstract members ----

    [Test]
    public async Task Analyze_PropertyIndexerEventAndStaticAbstract_ReportsIso008()
    {
        string[] diagnostics = await AnalyzeAsync("""
            [IsolateInterface]
            public interface IInventory
            {
                int Total { get; }
                string this[int index] { get; }
                event EventHandler? Changed;
                static abstract Task<int> CreatedAsync();
            }
            """);

        Assert.That(diagnostics, Is.EqualTo(new[]
        {
            "ISO008 IInventory.Total: a property cannot be called through a proxy; declare a method such as Task<System.Int32> GetTotalAsync() instead",
            "ISO008 IInventory.this[]: an indexer cannot be called through a proxy; declare a method such as Task<T> GetAsync(key) instead",
            "ISO008 IInventory.Changed: an event cannot be called through a proxy; a delegate cannot cross isolates; pass a ChannelWriter<T> to a method and write the notifications to it, or pass a proxy of an [IsolateInterface] the subscriber implements",
            "ISO008 IInventory.CreatedAsync: a static abstract member cannot be called through a proxy; it belongs to no object; make it an instance method returning a task, or give it a body",
        }));
    }

    // ---- ISO009: generic methods ----

    [Test]
    public async Task Analyze_GenericMethod_ReportsIso009Only()
    {
        // The type parameter is not also reported as not shareable: ISO009 says what to do.
        string[] diagnostics = await AnalyzeAsync("""
            [IsolateInterface]
            public interface IStore
            {
                Task<T> GetAsync<T>(string key, T fallback);
            }
            """);

        Assert.That(diagnostics, Is.EqualTo(new[]
        {
            "ISO009 IStore.GetAsync: a generic method cannot be called through a proxy, since the isolate must know the argument and result types when it decodes the call; declare a method for each type you need",
        }));
    }

    // ---- ISO010: parameters by reference ----

    [Test]
    public async Task Analyze_RefOutInAndRefReadonlyParameters_ReportsIso010ForEach()
    {
        // An async method cannot have them, but a method returning a task need not be async.
        string[] diagnostics = await AnalyzeAsync("""
            [IsolateInterface]
            public interface ICalc
            {
                Task AddAsync(ref int total, out int count, in decimal rate);
                Task LimitAsync(ref readonly long limit, int plain);
            }
            """);

        const string Fix = "arguments are copied to the isolate and nothing is copied back, so pass it by value and return what the method produces (Task<T>, a [Shareable] record for several values)";
        Assert.That(diagnostics, Is.EqualTo(new[]
        {
            $"ISO010 ICalc.AddAsync: parameter 'total' is passed by ref; {Fix}",
            $"ISO010 ICalc.AddAsync: parameter 'count' is passed as out; {Fix}",
            $"ISO010 ICalc.AddAsync: parameter 'rate' is passed as in; {Fix}",
            $"ISO010 ICalc.LimitAsync: parameter 'limit' is passed by reference; {Fix}",
        }));
    }

    // ---- ISO011: types that are not shareable ----

    [Test]
    public async Task Analyze_NotShareableParametersAndResults_ReportsIso011WithPathAndAdvice()
    {
        string[] diagnostics = await AnalyzeAsync("""
            public interface IPlain { }

            public sealed class Mutable { public int Count; }

            [IsolateInterface]
            public interface IFiles
            {
                Task<Stream> OpenAsync(string path);
                Task SaveAsync(List<object> items, Dictionary<string, Action> handlers);
                ValueTask<IPlain> PlainAsync(Mutable value);
                IAsyncEnumerable<Task<int>> PendingAsync();
                Task<CancellationToken> TokenAsync(CancellationToken? maybe);
                Task<IAsyncEnumerable<int>> LaterAsync();
            }
            """);

        Assert.That(diagnostics, Is.EqualTo(new[]
        {
            "ISO011 IFiles.OpenAsync: result: System.IO.Stream is not shareable; it holds a resource (a stream, handle, connection or lock) that belongs to one isolate; send the data instead (byte[], ReadOnlyMemory<byte> or a SharedBuffer for bytes)",
            "ISO011 IFiles.SaveAsync: parameter items[]: System.Object is not shareable; only a concrete type can be rebuilt on the other side; declare a concrete [Shareable] or [MessagePackObject] type, or a listed collection",
            "ISO011 IFiles.SaveAsync: parameter handlers.Values: System.Action is not shareable; a delegate carries code and captured state; send data and call a static method in the isolate",
            "ISO011 IFiles.PlainAsync: result: IPlain is not shareable; only a concrete type can be rebuilt on the other side; declare a concrete [Shareable] or [MessagePackObject] type, or a listed collection, or mark the interface [IsolateInterface] to pass a proxy",
            "ISO011 IFiles.PlainAsync: parameter value: Mutable is not shareable; mark it [Shareable] or [MessagePackObject], or use a shareable type from docs/shareable.md",
            "ISO007 IFiles.PendingAsync: returns System.Collections.Generic.IAsyncEnumerable<System.Threading.Tasks.Task<System.Int32>>; a proxy call runs in another isolate, so the caller can only await it: return Task<ChannelReader<System.Threading.Tasks.Task<System.Int32>>> to stream items (make the channel with IsolateChannel: it crosses isolates with back-pressure)",
            "ISO011 IFiles.TokenAsync: result: System.Threading.CancellationToken is not shareable; a CancellationToken crosses only as a parameter of a function or an [IsolateInterface] method (one per call), where the isolate gets its own token",
            "ISO011 IFiles.TokenAsync: parameter maybe: System.Threading.CancellationToken is not shareable; a CancellationToken crosses only as a parameter of a function or an [IsolateInterface] method (one per call), where the isolate gets its own token",
            "ISO011 IFiles.LaterAsync: result: System.Collections.Generic.IAsyncEnumerable<System.Int32> is not shareable; only a concrete type can be rebuilt on the other side; declare a concrete [Shareable] or [MessagePackObject] type, or a listed collection",
        }));
    }

    // ---- ISO016: more than three parameters ----

    [Test]
    public async Task Analyze_FourParametersCountingTheToken_ReportsIso016()
    {
        string[] diagnostics = await AnalyzeAsync("""
            [IsolateInterface]
            public interface IPricing
            {
                Task<int> ThreeAsync(int a, int b, CancellationToken cancellationToken);
                Task<int> FourAsync(int a, int b, int c, CancellationToken cancellationToken);
                Task FiveAsync(int a, int b, int c, int d, int e);
            }
            """);

        Assert.That(diagnostics, Is.EqualTo(new[]
        {
            "ISO016 IPricing.FourAsync: takes 4 parameters (a CancellationToken counts); a proxy call carries at most three, since the object's id takes one of a call's four argument slots: group the values in a [Shareable] record and take that",
            "ISO016 IPricing.FiveAsync: takes 5 parameters (a CancellationToken counts); a proxy call carries at most three, since the object's id takes one of a call's four argument slots: group the values in a [Shareable] record and take that",
        }));
    }

    // ---- ISO012: more than one CancellationToken ----

    [Test]
    public async Task Analyze_TwoCancellationTokens_ReportsIso012OnTheSecond()
    {
        string[] diagnostics = await AnalyzeAsync("""
            [IsolateInterface]
            public interface IJobs
            {
                Task RunAsync(CancellationToken stop, CancellationToken timeout, CancellationToken other = default);
            }
            """);

        const string Fix = "is a second CancellationToken; a proxy call honours one token, so take one and let callers combine theirs with CancellationTokenSource.CreateLinkedTokenSource";
        Assert.That(diagnostics, Is.EqualTo(new[]
        {
            $"ISO012 IJobs.RunAsync: parameter 'timeout' {Fix}",
            $"ISO012 IJobs.RunAsync: parameter 'other' {Fix}",
        }));
    }

    // ---- ISO013: inherited members not checked as [IsolateInterface] ----

    [Test]
    public async Task Analyze_InheritsUnmarkedInterfaceWithMembers_ReportsIso013NamingEachInheritedMember()
    {
        string[] diagnostics = await AnalyzeAsync("""
            namespace Shop
            {
                public interface IReader
                {
                    Task<string> ReadAsync(string key);
                    int Count { get; }
                }

                [IsolateInterface]
                public interface IStore : IReader, IAsyncDisposable
                {
                    Task WriteAsync(string key, string value);
                }
            }
            """);

        Assert.That(diagnostics, Is.EqualTo(new[]
        {
            "ISO013 IStore: inherits IAsyncDisposable.DisposeAsync from System.IAsyncDisposable, which is not [IsolateInterface]; mark System.IAsyncDisposable [IsolateInterface] (its members are then checked there) or do not inherit it",
            "ISO013 IStore: inherits IReader.Count from Shop.IReader, which is not [IsolateInterface]; mark Shop.IReader [IsolateInterface] (its members are then checked there) or do not inherit it",
            "ISO013 IStore: inherits IReader.ReadAsync from Shop.IReader, which is not [IsolateInterface]; mark Shop.IReader [IsolateInterface] (its members are then checked there) or do not inherit it",
        }));
    }

    [Test]
    public async Task Analyze_InheritsUnmarkedInterfaceThroughAnIsolateInterface_ReportsIso013OnTheOneThatAddsIt()
    {
        string[] diagnostics = await AnalyzeAsync("""
            public interface IReset
            {
                Task ResetAsync();
            }

            [IsolateInterface]
            public interface IBase : IReset
            {
            }

            [IsolateInterface]
            public interface IDerived : IBase
            {
            }
            """);

        // Each marked interface implements IReset's member in its proxy, so each is told.
        Assert.That(diagnostics, Is.EqualTo(new[]
        {
            "ISO013 IBase: inherits IReset.ResetAsync from IReset, which is not [IsolateInterface]; mark IReset [IsolateInterface] (its members are then checked there) or do not inherit it",
            "ISO013 IDerived: inherits IReset.ResetAsync from IReset, which is not [IsolateInterface]; mark IReset [IsolateInterface] (its members are then checked there) or do not inherit it",
        }));
    }

    // ---- ISO014: generic interfaces ----

    [Test]
    public async Task Analyze_GenericInterfaceAndInterfaceInGenericType_ReportsIso014()
    {
        string[] diagnostics = await AnalyzeAsync("""
            [IsolateInterface]
            public interface IStore<T>
            {
                Task<T> GetAsync(string key);
            }

            public static class Outer<T>
            {
                [IsolateInterface]
                public interface INested
                {
                    Task<T> GetAsync(string key);
                }
            }
            """);

        const string Fix = "a generic interface cannot be an [IsolateInterface], since a proxy's type is rebuilt by name in each isolate without type arguments; declare a non-generic interface for each use (IStore<Order> becomes IOrderStore)";
        Assert.That(diagnostics, Is.EqualTo(new[]
        {
            $"ISO014 IStore: {Fix}",
            $"ISO014 INested: {Fix}",
        }));
    }

    // ---- ISO015: CreateObjectAsync's type arguments ----

    [Test]
    public async Task Analyze_CreateObjectAsyncWithConstructibleImplementation_ReportsNothing()
    {
        string[] diagnostics = await AnalyzeAsync(CreateObjectApi + """
            public sealed class Inventory : IInventory
            {
                public Inventory(int capacity) { }
                public Task<int> CountAsync() => Task.FromResult(0);
            }

            public static class Use
            {
                public static Task<IInventory> RunAsync() => Objects.CreateObjectAsync<IInventory, Inventory>(10);
                public static Task<TI> Generic<TI, TC>() where TI : class where TC : class, TI => Objects.CreateObjectAsync<TI, TC>();
            }
            """);

        Assert.That(diagnostics, Is.Empty);
    }

    [Test]
    public async Task Analyze_CreateObjectAsyncWithUnusableTypes_ReportsIso015()
    {
        string[] diagnostics = await AnalyzeAsync(CreateObjectApi + """
            public interface IPlain { }

            public sealed class Plain : IPlain { }

            public abstract class AbstractInventory : IInventory
            {
                public abstract Task<int> CountAsync();
            }

            public sealed class Hidden : IInventory
            {
                private Hidden() { }
                public Task<int> CountAsync() => Task.FromResult(0);
            }

            public struct Value : IInventory
            {
                public Task<int> CountAsync() => Task.FromResult(0);
            }

            public static class Use
            {
                public static async Task RunAsync()
                {
                    await Objects.CreateObjectAsync<IPlain, Plain>();
                    await Objects.CreateObjectAsync<IInventory, AbstractInventory>();
                    await Objects.CreateObjectAsync<IInventory, Hidden>();
                    await Objects.CreateObjectAsync<IInventory, Value>();
                }
            }
            """);

        Assert.That(diagnostics, Is.EqualTo(new[]
        {
            "ISO015 CreateObjectAsync<IPlain, Plain>: IPlain is not marked [IsolateInterface], so no proxy is generated for it; mark it [IsolateInterface]",
            "ISO015 CreateObjectAsync<IInventory, AbstractInventory>: AbstractInventory is abstract and cannot be constructed; pass a concrete class",
            "ISO015 CreateObjectAsync<IInventory, Hidden>: Hidden has no public constructor for the isolate to call; add one (its arguments must be shareable)",
            "ISO015 CreateObjectAsync<IInventory, Value>: Value is not a class; the object lives in the isolate and is called by reference, so implement the interface with a class",
        }));
    }

    [Test]
    public void SupportedDiagnostics_AllIds_AreErrorsInTheIsolatesCategoryWithHelpLink()
    {
        ImmutableArray<DiagnosticDescriptor> descriptors = new IsolateInterfaceAnalyzer().SupportedDiagnostics;

        Assert.That(descriptors.Select(d => d.Id), Is.EqualTo(new[] { "ISO007", "ISO008", "ISO009", "ISO010", "ISO011", "ISO012", "ISO013", "ISO014", "ISO015", "ISO016" }));
        Assert.Multiple(() =>
        {
            foreach (DiagnosticDescriptor descriptor in descriptors)
            {
                Assert.That(descriptor.DefaultSeverity, Is.EqualTo(DiagnosticSeverity.Error), descriptor.Id);
                Assert.That(descriptor.IsEnabledByDefault, Is.True, descriptor.Id);
                Assert.That(descriptor.Category, Is.EqualTo("Isolates"), descriptor.Id);
                Assert.That(descriptor.HelpLinkUri, Does.StartWith("https://").And.Contain("/blob/main/docs/shareable.md#"), descriptor.Id); // the details: HelpLinkTests
                Assert.That(descriptor.Title.ToString(CultureInfo.InvariantCulture), Is.Not.Empty, descriptor.Id);
            }
        });
    }

    /// <summary>
    /// A stand-in for the runtime's CreateObjectAsync (built by the proxies work): the analyzer matches any
    /// CreateObjectAsync&lt;TInterface, TImpl&gt; declared in the Isolates namespace.
    /// </summary>
    private const string CreateObjectApi = """
        namespace Isolates
        {
            public static class Objects
            {
                public static Task<TInterface> CreateObjectAsync<TInterface, TImpl>(params object[] arguments)
                    where TInterface : class where TImpl : TInterface => throw new NotSupportedException();
            }
        }

        [IsolateInterface]
        public interface IInventory
        {
            Task<int> CountAsync();
        }

        """;

    /// <summary>The analyzers' diagnostics for <paramref name="source"/> as "ID message", in source order (then by text).</summary>
    private static async Task<string[]> AnalyzeAsync(string source)
    {
        var parseOptions = new CSharpParseOptions(LanguageVersion.Latest);
        SyntaxTree usings = CSharpSyntaxTree.ParseText(Usings.Replace("using ", "global using ", StringComparison.Ordinal), parseOptions, path: "Usings.cs");
        SyntaxTree tree = CSharpSyntaxTree.ParseText(source, parseOptions, path: "Snippet.cs");
        CSharpCompilation compilation = Snippets.Compile(usings, tree);

        // The snippet itself must be valid C#: only the analyzers may object to it.
        Diagnostic[] compileErrors = [.. compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error)];
        Assert.That(compileErrors, Is.Empty, "the snippet does not compile");

        ImmutableArray<Diagnostic> diagnostics = await compilation
            .WithAnalyzers([new IsolateInterfaceAnalyzer(), new ShareableAnalyzer()])
            .GetAnalyzerDiagnosticsAsync();
        return [.. diagnostics
            .Select(d => (d.Location.SourceSpan.Start, Text: $"{d.Id} {d.GetMessage(CultureInfo.InvariantCulture)}"))
            .OrderBy(d => d.Start).ThenBy(d => d.Text, StringComparer.Ordinal)
            .Select(d => d.Text)];
    }
}
