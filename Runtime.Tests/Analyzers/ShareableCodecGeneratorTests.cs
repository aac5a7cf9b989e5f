using System.Collections.Immutable;
using Isolates.Analyzers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Isolates.Tests.Analyzers;

/// <summary>
/// Runs the codec generator on C# snippets (against .NET 10 reference assemblies, Isolates.Runtime and MessagePack)
/// and checks what it generates compiles without any diagnostic, or that what it skips is reported as ISO004.
/// </summary>
[TestFixture]
public class ShareableCodecGeneratorTests
{
    private const string Usings = """
        using System;
        using System.Collections.Generic;
        using System.Collections.Immutable;
        using Isolates;
        using MessagePack;

        """;

    private static (string[] Generated, string[] Diagnostics) Generate(string source) =>
        Snippets.Generate(new ShareableCodecGenerator(), Usings + source);

    [Test]
    public void Generate_PositionalRecord_CompilesCleanAndRegistersTheCodec()
    {
        (string[] generated, string[] diagnostics) = Generate("""
            namespace Shop;

            [Shareable]
            public sealed record Point(int X, double Y, string Label, decimal Price, DateTime At);
            """);

        Assert.That(diagnostics, Is.Empty);
        Assert.That(generated, Has.Length.EqualTo(1));
        Assert.That(generated[0], Does.Contain("ShareableCodecAttribute(typeof(global::Shop.Point)"));
        Assert.That(generated[0], Does.Contain("new global::Shop.Point(m0, m1, m2, m3, m4)"));
    }

    [Test]
    public void Generate_ClassWithPrivateStateRequiredAndInitMembers_CompilesClean()
    {
        (string[] generated, string[] diagnostics) = Generate("""
            [Shareable]
            public sealed class Settings
            {
                private readonly long _secret;
                public Settings(long secret) => _secret = secret;
                public long Secret => _secret;
                public required string Name { get; init; }
                public int Size { get; init; }
                public int Twice => Size * 2;
                public static int Created { get; set; }
                public IReadOnlyList<int> Values { get; init; } = [];
            }
            """);

        Assert.That(diagnostics, Is.Empty);
        Assert.That(generated, Has.Length.EqualTo(1));
        Assert.That(generated[0], Does.Contain("UnsafeAccessorKind.Field, Name = \"_secret\""), "private state is reached without reflection");
        Assert.That(generated[0], Does.Contain("UnsafeAccessorKind.Constructor"), "required members are set through their fields");
    }

    [Test]
    public void Generate_StructsAndNestedTypes_CompileClean()
    {
        (string[] generated, string[] diagnostics) = Generate("""
            public enum Kind { A, B }

            [Shareable]
            public readonly record struct Money(decimal Amount, string Currency);

            [Shareable]
            public readonly struct Pair
            {
                public readonly int A;
                public readonly string B;
                public Pair(int a) { A = a; B = ""; }
            }

            public static class Outer
            {
                [Shareable]
                public sealed record Inner(Money Total, Pair? Pair, Kind Kind, List<Inner> Children, Dictionary<string, Money> ByName);

                [Shareable]
                internal sealed record Hidden(int X);
            }
            """);

        Assert.That(diagnostics, Is.Empty);
        Assert.That(generated, Has.Length.EqualTo(4));
    }

    [Test]
    public void Generate_DerivedRecord_CompilesClean()
    {
        (string[] generated, string[] diagnostics) = Generate("""
            [Shareable]
            public record Animal(string Name);

            [Shareable]
            public sealed record Dog(string Name, int Legs) : Animal(Name);
            """);

        Assert.That(diagnostics, Is.Empty);
        Assert.That(generated, Has.Length.EqualTo(2));
    }

    [Test]
    public void Generate_GenericType_ReportsIso004AndGeneratesNothing()
    {
        (string[] generated, string[] diagnostics) = Generate("""
            [Shareable]
            public sealed record Box<T>(T Value);
            """);

        Assert.That(generated, Is.Empty);
        Assert.That(diagnostics, Is.EqualTo(new[]
        {
            "ISO004: Box<T>: no wire codec is generated (generic types are not supported by the generator); the runtime encodes it with its reflection codec, which is slower and compiles accessors at run time",
        }));
    }

    [Test]
    public void Generate_PrivateNestedType_ReportsIso004()
    {
        (string[] generated, string[] diagnostics) = Generate("""
            public sealed class Host
            {
                [Shareable]
                private sealed record Secret(int X);
            }
            """);

        Assert.That(generated, Is.Empty);
        Assert.That(diagnostics, Has.Length.EqualTo(1));
        Assert.That(diagnostics[0], Does.StartWith("ISO004: Host.Secret: no wire codec is generated (Secret is private, protected or file-local"));
    }
}
