using System.Collections.Immutable;
using Isolates.Analyzers;
using Isolates.Tests.Analyzers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Isolates.Tests.Proxies;

/// <summary>Runs the proxy generator on C# snippets and checks that what it writes compiles without any diagnostic.</summary>
[TestFixture]
public class IsolateInterfaceGeneratorTests
{
    private const string Usings = """
        using System;
        using System.Collections.Generic;
        using System.Threading;
        using System.Threading.Tasks;
        using Isolates;

        """;

    private static (string[] Generated, string[] Diagnostics) Generate(string source) =>
        Snippets.Generate(new IsolateInterfaceGenerator(), Usings + source);

    [Test]
    public void Generate_TheIssuesExample_CompilesCleanAndRegistersTheProxy()
    {
        (string[] generated, string[] diagnostics) = Generate("""
            namespace Shop;

            [IsolateInterface]
            public interface IInventory
            {
                Task<int> AddAsync(string sku, int count, CancellationToken cancellationToken = default);
                ValueTask<int> CountAsync(string sku);
                Task ResetAsync();
                ValueTask TouchAsync();
            }
            """);

        Assert.That(diagnostics, Is.Empty);
        Assert.That(generated, Has.Length.EqualTo(1));
        Assert.That(generated[0], Does.Contain("IsolateProxyAttribute(typeof(global::Shop.IInventory), typeof(global::Isolates.Generated.Shop_IInventory_IsolateProxy))"));
        Assert.That(generated[0], Does.Contain("this._reference.CallAsync<string, int, global::System.Threading.CancellationToken, int>(global::Isolates.Generated.Shop_IInventory_IsolateDispatcher.AddAsync, @sku, @count, @cancellationToken, @cancellationToken)"));
        Assert.That(generated[0], Does.Contain("IsolateObjects.Get<global::Shop.IInventory>(__objectId)).@AddAsync(@sku, @count, @cancellationToken)"));
    }

    [Test]
    public void Generate_InheritedOverloadedNullableAndUnsupportedMembers_CompileClean()
    {
        (string[] generated, string[] diagnostics) = Generate("""
            #nullable enable
            namespace Shop;

            public interface IBase
            {
                Task<string?> NameAsync(int? id);
                Task PingAsync();
            }

            [IsolateInterface]
            public interface IStore : IBase
            {
                Task<int> PutAsync(string key);
                Task<int> PutAsync(string key, int value);
                Task<IReadOnlyList<int>> ManyAsync(int[] values, CancellationToken cancellationToken);
                int Synchronous();
                string Name { get; set; }
                int this[int index] { get; }
                event EventHandler? Changed;
                Task<T> GenericAsync<T>(T value);
                Task<int> TooManyAsync(int a, int b, int c, int d);
                Task<int> ByRefAsync(ref int a);
                IAsyncEnumerable<int> StreamAsync();
                Task<int> DefaultAsync() => Task.FromResult(1);
            }

            public static class Outer
            {
                [IsolateInterface]
                public interface INested
                {
                    Task<int> GoAsync(@int @class);
                }

                public sealed record @int(int Value);
            }

            public class Hidden
            {
                [IsolateInterface]
                private interface ISecret
                {
                    Task GoAsync();
                }
            }

            [IsolateInterface]
            public interface IGeneric<T>
            {
                Task<T> GetAsync();
            }
            """);

        Assert.That(diagnostics, Is.Empty);
        Assert.That(generated, Has.Length.EqualTo(2), "no proxy for a private or a generic interface");
        string store = generated.Single(g => g.Contains("Shop_IStore_IsolateProxy"));
        Assert.That(store, Does.Contain("PutAsync_"), "overloads get distinct stub names");
        Assert.That(store, Does.Contain("IStore.Synchronous cannot be called through an isolate proxy"));
        Assert.That(store, Does.Contain("IAsyncEnumerable"));
        Assert.That(store, Does.Not.Contain("DefaultAsync"), "a member with a default body needs no proxy");
    }

    [Test]
    public void Generate_AwkwardNamesAndSignatures_CompileClean()
    {
        (string[] generated, string[] diagnostics) = Generate("""
            [IsolateInterface]
            public interface IGlobal
            {
                Task<int> GoAsync(string @event = "x", int? count = null);
                Task<int> GoAsync(int @class);
                Task<int> GoAsync(int @class, CancellationToken cancellationToken);
                Task<int> GoAsync_1(int value);
                Task<int> GoAsync_1_(int value);
                Task<int> UseAsync(string _reference, long __objectId);
                Task<(int Low, int High)> RangeAsync((int Low, int High) range);
                Task<string> ToString(int format);
                Task<bool> Equals(int other);
                Task<int> CreateAsync(string reference);
            }

            namespace Shop
            {
                public interface IBase
                {
                    Task<int> CountAsync();
                }

                [IsolateInterface]
                public interface IDerived : IBase
                {
                    new Task<int> CountAsync();
                }
            }
            """);

        Assert.That(diagnostics, Is.Empty);
        Assert.That(generated, Has.Length.EqualTo(2));
    }

    [Test]
    public void Generate_InterfacesWhoseFlattenedNamesCollide_EachGetsItsOwnProxy()
    {
        (string[] generated, string[] diagnostics) = Generate("""
            namespace A_B
            {
                [IsolateInterface]
                public interface IX
                {
                    Task<int> OneAsync();
                }
            }

            namespace A
            {
                [IsolateInterface]
                public interface B_IX
                {
                    Task<int> TwoAsync();
                }
            }
            """);

        Assert.That(diagnostics, Is.Empty);
        Assert.That(generated, Has.Length.EqualTo(2));
    }
}
