using System.Collections.Immutable;
using System.Globalization;
using Isolates.Analyzers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Isolates.Tests.Analyzers;

/// <summary>
/// Compiles C# snippets against the .NET 10 reference assemblies, Isolates.Runtime and MessagePack.Annotations with
/// the shareable analyzer attached, and checks the exact diagnostics it reports (id and message).
/// </summary>
[TestFixture]
public class ShareableAnalyzerTests
{
    private const string Usings = """
        using System;
        using System.Collections.Generic;
        using System.Collections.Immutable;
        using System.IO;
        using System.Threading.Channels;
        using System.Threading.Tasks;
        using Isolates;
        using MessagePack;

        """;

    // ---- snippets that must build ----

    [Test]
    public async Task Analyze_PositionalRecordOfIntsAndStrings_ReportsNothing()
    {
        string[] diagnostics = await AnalyzeAsync("""
            [Shareable]
            public sealed record Point(int X, int Y, string Label);
            """);

        Assert.That(diagnostics, Is.Empty);
    }

    [Test]
    public async Task Analyze_RecordWithListOfShareableRecord_ReportsNothing()
    {
        string[] diagnostics = await AnalyzeAsync("""
            [Shareable]
            public sealed record Line(string Sku, decimal Price, int Quantity);

            [Shareable]
            public sealed record Order(int Id, List<Line> Lines);
            """);

        Assert.That(diagnostics, Is.Empty);
    }

    [Test]
    public async Task Analyze_InitOnlyClass_ReportsNothing()
    {
        string[] diagnostics = await AnalyzeAsync("""
            [Shareable]
            public sealed class Settings
            {
                public required string Name { get; init; }
                public int Size { get; init; }
                public int Twice => Size * 2;
                public static int Created { get; set; }
                public int this[int i] { get => i; set { } }
            }
            """);

        Assert.That(diagnostics, Is.Empty);
    }

    [Test]
    public async Task Analyze_ReadonlyStruct_ReportsNothing()
    {
        string[] diagnostics = await AnalyzeAsync("""
            [Shareable]
            public readonly struct Money
            {
                public readonly string Currency;

                public Money(decimal amount, string currency)
                {
                    Amount = amount;
                    Currency = currency;
                }

                public decimal Amount { get; }
                public long Cents => (long)(Amount * 100);
            }
            """);

        Assert.That(diagnostics, Is.Empty);
    }

    [Test]
    public async Task Analyze_RecordWithChannelReaderOfInt_ReportsNothing()
    {
        string[] diagnostics = await AnalyzeAsync("""
            [Shareable]
            public sealed record Job(string Name, ChannelReader<int> Input, ChannelWriter<string> Output, Channel<long> Both);
            """);

        Assert.That(diagnostics, Is.Empty);
    }

    [Test]
    public async Task Analyze_EveryListedShareableType_ReportsNothing()
    {
        string[] diagnostics = await AnalyzeAsync("""
            public enum Colour { Red, Green }

            [MessagePackObject]
            public sealed record Packed([property: Key(0)] int A);

            [Shareable]
            public sealed record Nested(int A);

            [Shareable]
            public sealed record Everything(
                bool Flag, char Letter, sbyte I8, byte U8, short I16, ushort U16, int I32, uint U32, long I64, ulong U64,
                float F32, double F64, decimal Money, string Text, DateTime When, DateTimeOffset WhenOffset,
                TimeSpan Span, Guid Id, Colour Colour, DayOfWeek Day, int? MaybeInt, Colour? MaybeColour, string? MaybeText,
                int[] Ints, byte[] Bytes, Nested[] Nesteds, List<string> L, IList<int> IL, IReadOnlyList<int> IRL,
                ICollection<int> IC, IReadOnlyCollection<int> IRC, IEnumerable<int> IE, HashSet<int> HS, ISet<int> IS,
                IReadOnlySet<int> IRS, ImmutableArray<int> IA, ImmutableList<int> ImL, IImmutableList<int> IImL,
                ImmutableHashSet<int> IHS, IImmutableSet<int> IIS, Dictionary<string, int> D, IDictionary<string, int> ID,
                IReadOnlyDictionary<string, Nested> IRD, ImmutableDictionary<Guid, int> ImD, IImmutableDictionary<int, int> IImD,
                ReadOnlyMemory<byte> Memory, Memory<byte> Writable, SharedBuffer Shared, Packed Packed, Nested Nested, List<Dictionary<string, int[]>> Deep,
                List<Nested?> NullableRecords);
            """);

        Assert.That(diagnostics, Is.Empty);
    }

    [Test]
    public async Task Analyze_IgnoredStaticAndComputedMembers_ReportsNothing()
    {
        string[] diagnostics = await AnalyzeAsync("""
            [Shareable]
            public sealed record Order(int Id)
            {
                private static readonly object s_lock = new();
                public static Stream? Shared { get; set; }
                public const int Max = 10;
                [IgnoreMember] public Stream? Cache { get; set; }
                [IgnoreMember] public object? Scratch;
                public Task<int> Pending => Task.FromResult(Id);
                public Action Callback => () => { };
            }
            """);

        Assert.That(diagnostics, Is.Empty);
    }

    [Test]
    public async Task Analyze_ShareableRecordDerivedFromShareableRecord_ReportsNothing()
    {
        string[] diagnostics = await AnalyzeAsync("""
            [Shareable]
            public record Animal(string Name);

            [Shareable]
            public sealed record Dog(string Name, int Barks) : Animal(Name);
            """);

        Assert.That(diagnostics, Is.Empty);
    }

    [Test]
    public async Task Analyze_TypeWithoutShareableAttribute_ReportsNothing()
    {
        string[] diagnostics = await AnalyzeAsync("""
            public sealed class Plain
            {
                public int Count;
                public Stream? Stream { get; set; }
            }
            """);

        Assert.That(diagnostics, Is.Empty);
    }

    [Test]
    public async Task Analyze_PropertyUsingFieldKeyword_IsCheckedLikeAnAutoProperty()
    {
        // C# 14's field keyword gives the property a backing field, so its value crosses and its type is checked.
        // The Roslyn these tests compile with (4.14) has the keyword only in preview.
        string[] diagnostics = await AnalyzeAsync("""
            [Shareable]
            public sealed class Order
            {
                public string Name { get => field; init => field = value.Trim(); } = "";
                public Stream? Stream { get => field; init => field = value; }
            }
            """, LanguageVersion.Preview);

        Assert.That(diagnostics, Is.EqualTo(new[] { "ISO002 Order.Stream: System.IO.Stream is not shareable" }));
    }

    // ---- ISO001: mutable members ----

    [Test]
    public async Task Analyze_SettableProperty_ReportsIso001WithPath()
    {
        string[] diagnostics = await AnalyzeAsync("""
            [Shareable]
            public sealed class Order
            {
                public int Id { get; init; }
                public decimal Total { get; set; }
            }
            """);

        Assert.That(diagnostics, Is.EqualTo(new[]
        {
            "ISO001 Order.Total: settable property; [Shareable] types must be immutable (use init or get-only)",
        }));
    }

    [Test]
    public async Task Analyze_PublicNonReadonlyField_ReportsIso001WithPath()
    {
        string[] diagnostics = await AnalyzeAsync("""
            [Shareable]
            public sealed class Order
            {
                public int Count;
                public readonly int Id;
            }
            """);

        Assert.That(diagnostics, Is.EqualTo(new[]
        {
            "ISO001 Order.Count: field is not readonly; [Shareable] types must be immutable (make the field readonly)",
        }));
    }

    [Test]
    public async Task Analyze_PrivateSetterAndMutableStructField_ReportsIso001ForEach()
    {
        string[] diagnostics = await AnalyzeAsync("""
            [Shareable]
            public struct Counter
            {
                private int _hits;
                public int Total { get; private set; }
            }
            """);

        Assert.That(diagnostics, Is.EqualTo(new[]
        {
            "ISO001 Counter._hits: field is not readonly; [Shareable] types must be immutable (make the field readonly)",
            "ISO001 Counter.Total: settable property; [Shareable] types must be immutable (use init or get-only)",
        }));
    }

    [Test]
    public async Task Analyze_PositionalRecordStructNotReadonly_ReportsIso001ForEachParameter()
    {
        string[] diagnostics = await AnalyzeAsync("""
            [Shareable]
            public record struct Point(int X, int Y);

            [Shareable]
            public readonly record struct Fixed(int X, int Y);
            """);

        Assert.That(diagnostics, Is.EqualTo(new[]
        {
            "ISO001 Point.X: settable property; [Shareable] types must be immutable (declare it a readonly record struct)",
            "ISO001 Point.Y: settable property; [Shareable] types must be immutable (declare it a readonly record struct)",
        }));
    }

    // ---- ISO002: members whose type is not shareable ----

    [Test]
    public async Task Analyze_StreamMember_ReportsIso002WithPath()
    {
        string[] diagnostics = await AnalyzeAsync("""
            [Shareable]
            public sealed record Order(int Id, Stream Stream);
            """);

        Assert.That(diagnostics, Is.EqualTo(new[] { "ISO002 Order.Stream: System.IO.Stream is not shareable" }));
    }

    [Test]
    public async Task Analyze_ListOfObject_ReportsIso002WithElementPath()
    {
        string[] diagnostics = await AnalyzeAsync("""
            [Shareable]
            public sealed record Order(int Id, List<object> Lines);
            """);

        Assert.That(diagnostics, Is.EqualTo(new[] { "ISO002 Order.Lines[]: System.Object is not shareable" }));
    }

    [Test]
    public async Task Analyze_ActionMember_ReportsIso002()
    {
        string[] diagnostics = await AnalyzeAsync("""
            [Shareable]
            public sealed class Order
            {
                public Action? Done { get; init; }
            }
            """);

        Assert.That(diagnostics, Is.EqualTo(new[] { "ISO002 Order.Done: System.Action is not shareable" }));
    }

    [Test]
    public async Task Analyze_NestedNonShareableTypes_ReportsIso002WithPathOfEachStep()
    {
        string[] diagnostics = await AnalyzeAsync("""
            public sealed class Unmarked { }

            [Shareable]
            public sealed record Order(
                Dictionary<string, Stream> Files,
                IReadOnlyDictionary<object, int> ByKey,
                ChannelReader<Task> Input,
                int[,] Grid,
                List<int[][]> Jagged,
                Unmarked Plain,
                Func<int>? Make,
                IDisposable Handle,
                ReadOnlyMemory<char> Chars,
                object Anything,
                dynamic Dynamic,
                int?[] Fine,
                Task<int>? Pending);
            """);

        Assert.That(diagnostics, Is.EqualTo(new[]
        {
            "ISO002 Order.Files.Values: System.IO.Stream is not shareable",
            "ISO002 Order.ByKey.Keys: System.Object is not shareable",
            "ISO002 Order.Input.<T>: System.Threading.Tasks.Task is not shareable",
            "ISO002 Order.Grid: System.Int32[,] is not shareable",
            "ISO002 Order.Plain: Unmarked is not shareable",
            "ISO002 Order.Make: System.Func<System.Int32> is not shareable",
            "ISO002 Order.Handle: System.IDisposable is not shareable",
            "ISO002 Order.Chars: System.ReadOnlyMemory<System.Char> is not shareable",
            "ISO002 Order.Anything: System.Object is not shareable",
            "ISO002 Order.Dynamic: dynamic is not shareable",
            "ISO002 Order.Pending: System.Threading.Tasks.Task<System.Int32> is not shareable",
        }));
    }

    [Test]
    public async Task Analyze_FieldLikeEvent_ReportsIso002()
    {
        string[] diagnostics = await AnalyzeAsync("""
            [Shareable]
            public sealed class Order
            {
                public event Action? Changed;
                public event Action Custom { add { } remove { } }
                public void Raise() => Changed?.Invoke();
            }
            """);

        Assert.That(diagnostics, Is.EqualTo(new[] { "ISO002 Order.Changed: System.Action is not shareable" }));
    }

    [Test]
    public async Task Analyze_TypeParameterMember_ReportsIso002()
    {
        string[] diagnostics = await AnalyzeAsync("""
            [Shareable]
            public sealed record Box<T>(T Value);
            """);

        Assert.That(diagnostics, Is.EqualTo(new[] { "ISO002 Box.Value: T is not shareable" }));
    }

    [Test]
    public async Task Analyze_SettableStreamProperty_ReportsBothIso001AndIso002()
    {
        string[] diagnostics = await AnalyzeAsync("""
            [Shareable]
            public sealed class Order
            {
                public Stream? Stream { get; set; }
            }
            """);

        Assert.That(diagnostics, Is.EqualTo(new[]
        {
            "ISO001 Order.Stream: settable property; [Shareable] types must be immutable (use init or get-only)",
            "ISO002 Order.Stream: System.IO.Stream is not shareable",
        }));
    }

    [Test]
    public async Task Analyze_NonShareableMember_ReportsOnTheMemberDeclaration()
    {
        const string Source = """
            [Shareable]
            public sealed record Order(int Id, Stream Stream);
            """;
        ImmutableArray<Diagnostic> diagnostics = await RunAnalyzerAsync(Source);

        Assert.That(diagnostics, Has.Length.EqualTo(1));
        Location location = diagnostics[0].Location;
        Assert.That(location.SourceTree!.GetText().ToString(location.SourceSpan), Is.EqualTo("Stream"));
        Assert.That(location.GetLineSpan().StartLinePosition.Character, Is.EqualTo("public sealed record Order(int Id, Stream ".Length));
    }

    // ---- ISO003: the attribute on a type that cannot be a value ----

    [Test]
    public async Task Analyze_AbstractShareableClass_ReportsIso003()
    {
        string[] diagnostics = await AnalyzeAsync("""
            [Shareable]
            public abstract class Shape
            {
                public int Sides { get; init; }
            }
            """);

        Assert.That(diagnostics, Is.EqualTo(new[]
        {
            "ISO003 Shape: an abstract type cannot be [Shareable]; only a concrete type can be rebuilt on the other side",
        }));
    }

    [Test]
    public async Task Analyze_BaseTypeNotShareable_ReportsIso003()
    {
        string[] diagnostics = await AnalyzeAsync("""
            public class Entity { }

            [Shareable]
            public sealed class Order : Entity
            {
                public int Id { get; init; }
            }
            """);

        Assert.That(diagnostics, Is.EqualTo(new[]
        {
            "ISO003 Order: base type Entity is not [Shareable]; derive from object or another [Shareable] type",
        }));
    }

    [Test]
    public async Task Analyze_StaticClassAndRefStruct_ReportIso003()
    {
        string[] diagnostics = await AnalyzeAsync("""
            [Shareable]
            public static class Helpers { }

            [Shareable]
            public readonly ref struct Window
            {
                public int Start { get; }
            }
            """);

        Assert.That(diagnostics, Is.EqualTo(new[]
        {
            "ISO003 Helpers: a static class has no values to share",
            "ISO003 Window: a ref struct cannot leave the stack it lives on",
        }));
    }

    // ---- ISO005/ISO006: [MessagePackObject] types, by the runtime's reflection codec's rules ----

    [Test]
    public async Task Analyze_MessagePackObjectWithStream_ReportsIso005WithAdviceThatIsShareable()
    {
        // Issue 13: found only when first sent, and the runtime advised "the concrete type", i.e. MemoryStream, also refused.
        string[] diagnostics = await AnalyzeAsync("""
            [MessagePackObject]
            public sealed class Order
            {
                [Key(0)] public int Id { get; set; }
                [Key(1)] public Stream? Stream { get; set; }
                [Key(2)] public MemoryStream? Buffer { get; set; }
            }
            """);

        const string Advice = "it holds a resource (a stream, handle, connection or lock) that belongs to one isolate; send the data instead "
            + "(byte[], ReadOnlyMemory<byte> or a SharedBuffer for bytes) or mark the member [IgnoreMember]";
        Assert.That(diagnostics, Is.EqualTo(new[]
        {
            "ISO005 Order.Stream: System.IO.Stream is not shareable; " + Advice,
            "ISO005 Order.Buffer: System.IO.MemoryStream is not shareable; " + Advice,
        }));
    }

    [Test]
    public async Task Analyze_MessagePackObjectWithUnsupportedMembers_ReportsIso005ForEach()
    {
        string[] diagnostics = await AnalyzeAsync("""
            [MessagePackObject]
            public sealed class Basket
            {
                [Key(0)] public List<object> Items { get; set; } = [];
                [Key(1)] public Func<int>? Price { get; set; }
                public string Note { get; set; } = "";
                [Key(2)] public int Count { get; set; }
                [Key(2)] public int Again { get; set; }
                [Key(-1)] public int Negative { get; set; }
                [Key(3)] public int Total => Count * 2;
                [Key(4)] private int _hidden;
                private int _notSent;
                public int Seen() => _hidden + _notSent;
            }
            """);

        Assert.That(diagnostics, Is.EqualTo(new[]
        {
            "ISO005 Basket.Items[]: System.Object is not shareable; only a concrete type can be rebuilt on the other side; declare a concrete [Shareable] or [MessagePackObject] type, or a listed collection",
            "ISO005 Basket.Price: System.Func<System.Int32> is not shareable; a delegate carries code and captured state; send data and call a static method in the isolate",
            "ISO005 Basket.Note: public member has no [Key]; add [Key(n)] (or [Key(\"name\")]) so it crosses, or [IgnoreMember] to leave it out; a member without either would be dropped silently",
            "ISO005 Basket.Again: [Key(2)] is used twice; give each member its own key",
            "ISO005 Basket.Negative: [Key(-1)] is negative; use a key of 0 or more",
            "ISO005 Basket.Total: it is encoded but cannot be set when the value is rebuilt; give it a setter (init is fine) or a matching constructor parameter",
        }));
    }

    [Test]
    public async Task Analyze_CleanMessagePackObjects_ReportNothing()
    {
        // Settable members are fine (the value is copied); the advised replacements for a stream are accepted.
        string[] diagnostics = await AnalyzeAsync("""
            [MessagePackObject]
            public sealed record Line([property: Key(0)] string Sku, [property: Key(1)] decimal Price, [property: Key(2)] int Quantity);

            [MessagePackObject]
            public sealed class Upload
            {
                [Key(0)] public string Name { get; set; } = "";
                [Key(1)] public byte[] Bytes { get; set; } = [];
                [Key(2)] public ReadOnlyMemory<byte> Memory { get; set; }
                [Key(3)] public SharedBuffer? Shared { get; set; }
                [Key(4)] public List<Line> Lines { get; init; } = [];
                [IgnoreMember] public Stream? Source { get; set; }
                [IgnoreMember] public int Twice => Lines.Count * 2;
                public event Action? Changed;
                public void Raise() => Changed?.Invoke();
            }

            [MessagePackObject(keyAsPropertyName: true)]
            public sealed class Settings
            {
                public string Name { get; init; } = "";
                public int Level { get; set; }
                [IgnoreMember] public Stream? Log { get; set; }
            }

            [MessagePackObject]
            public sealed class Account
            {
                [Key(0)] private readonly string _owner;
                [Key(1)] public decimal Balance { get; }

                public Account(string owner, decimal balance) => (_owner, Balance) = (owner, balance);

                [IgnoreMember] public string Owner => _owner;
            }

            [MessagePackObject]
            public abstract class Shape
            {
                [Key(0)] public object? Tag { get; set; }
            }

            [MessagePackObject]
            public sealed class Box<T>
            {
                [Key(0)] public T? Value { get; set; }
                [Key(1)] public List<T> Values { get; set; } = [];
                [Key(2)] public Dictionary<string, T[]> ByName { get; set; } = [];
            }
            """);

        Assert.That(diagnostics, Is.Empty);
    }

    [Test]
    public async Task Analyze_MessagePackObjectOverrideInheritsKeyOrIgnoreMember_ReportsNothing()
    {
        // [Key] and [IgnoreMember] are inherited attributes: the runtime reads them through an override (reflection's
        // inherited lookup), so an override without its own copy crosses (Echo.Keyed in CallAsync_OverrideInheritsKey...).
        // The analyzer read only the override's own attributes and broke the build with "public member has no [Key]".
        string[] diagnostics = await AnalyzeAsync("""
            [MessagePackObject]
            public abstract class Entity
            {
                [Key(0)] public virtual string Name { get; set; } = "";
                [IgnoreMember] public virtual int Cached { get; set; }
            }

            [MessagePackObject]
            public sealed class Customer : Entity
            {
                public override string Name { get; set; } = "";
                public override int Cached { get; set; }
                [Key(1)] public int Level { get; set; }
            }
            """);

        Assert.That(diagnostics, Is.Empty);
    }

    [Test]
    public async Task Analyze_MessagePackObjectThatCannotBeRebuilt_ReportsIso006()
    {
        string[] diagnostics = await AnalyzeAsync("""
            [MessagePackObject]
            public sealed class Mixed
            {
                [Key(0)] public int A { get; set; }
                [Key("b")] public int B { get; set; }
            }

            [MessagePackObject]
            public sealed class NoConstructor
            {
                public NoConstructor(string other) => A = other.Length;

                [Key(0)] public int A { get; set; }
            }

            [MessagePackObject]
            public sealed class WrongMarked
            {
                [SerializationConstructor]
                public WrongMarked(int a, string extra) => A = a + extra.Length;

                [Key(0)] public int A { get; set; }
            }
            """);

        Assert.That(diagnostics, Is.EqualTo(new[]
        {
            "ISO006 Mixed: it mixes integer and string [Key]s; use one kind of key for all members",
            "ISO006 NoConstructor: it has no constructor the runtime can call to rebuild it; add a public constructor whose parameters match its members by name and type (a record's primary constructor does), or a parameterless one",
            "ISO006 WrongMarked: the parameters of its [SerializationConstructor] do not all match a [Key] member by name and type; name each parameter after a member (case-insensitive) with the member's type",
        }));
    }

    [Test]
    public void SupportedDiagnostics_AllIds_AreErrorsInTheIsolatesCategoryWithHelpLink()
    {
        ImmutableArray<DiagnosticDescriptor> descriptors = new ShareableAnalyzer().SupportedDiagnostics;

        Assert.That(descriptors.Select(d => d.Id), Is.EqualTo(new[] { "ISO001", "ISO002", "ISO003", "ISO005", "ISO006" }));
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

    /// <summary>The analyzer's diagnostics for <paramref name="source"/> as "ID message", in source order.</summary>
    private static async Task<string[]> AnalyzeAsync(string source, LanguageVersion language = LanguageVersion.Latest) =>
        [.. (await RunAnalyzerAsync(source, language)).Select(d => $"{d.Id} {d.GetMessage(CultureInfo.InvariantCulture)}")];

    private static async Task<ImmutableArray<Diagnostic>> RunAnalyzerAsync(string source, LanguageVersion language = LanguageVersion.Latest)
    {
        var parseOptions = new CSharpParseOptions(language);
        SyntaxTree usings = CSharpSyntaxTree.ParseText(Usings.Replace("using ", "global using ", StringComparison.Ordinal), parseOptions, path: "Usings.cs");
        SyntaxTree tree = CSharpSyntaxTree.ParseText(source, parseOptions, path: "Snippet.cs");
        CSharpCompilation compilation = Snippets.Compile(usings, tree);

        // The snippet itself must be valid C#: only the analyzer may object to it.
        Diagnostic[] compileErrors = [.. compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error)];
        Assert.That(compileErrors, Is.Empty, "the snippet does not compile");

        ImmutableArray<Diagnostic> diagnostics = await compilation
            .WithAnalyzers([new ShareableAnalyzer()])
            .GetAnalyzerDiagnosticsAsync();
        return [.. diagnostics.OrderBy(d => d.Location.SourceSpan.Start).ThenBy(d => d.Id, StringComparer.Ordinal)];
    }
}
