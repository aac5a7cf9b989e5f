using System.Collections;
using System.ComponentModel;
using System.Reflection;
using System.Runtime.Loader;
using Isolates.Tests.Support;

namespace Isolates.Tests.Unloading;

/// <summary>Framework tables outside the hot-reload hooks that held isolates' types, pruned by the unload check (issue 12, part 2).</summary>
[TestFixture]
[CancelAfter(60_000)]
public class FrameworkCachesTests
{
    [Test]
    public async Task CloseAsync_AfterTypeDescriptorUse_TypeDescriptorHoldsNoTypeOfTheUnloadedContext()
    {
        // Newtonsoft asks TypeDescriptor for every type's converter, which records the isolate's types in
        // s_defaultProviderInitialized and in the reflection provider's per-type data (no public API removes them).
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Name = "typedescriptor", UnloadTimeout = TimeSpan.FromSeconds(1) });
        Assert.That(await iso.CallAsync(LibraryWorkMore.NewtonsoftRoundTrip, 3), Is.GreaterThan(0));

        await Wait.Bounded(iso.CloseAsync());

        Assert.That(TypesOfUnloadedContexts(), Is.Empty);
    }

    [Test]
    public void Clear_HostTypesInTypeDescriptor_AreKeptAndStillDescribed()
    {
        var before = TypeDescriptor.GetConverter(typeof(JsonInvoice));

        Isolates.Unloading.FrameworkCaches.Clear();

        Assert.Multiple(() =>
        {
            Assert.That(TypeDescriptor.GetConverter(typeof(JsonInvoice)).GetType(), Is.EqualTo(before.GetType()));
            Assert.That(TypeDescriptor.GetProperties(typeof(JsonInvoice)).Find(nameof(JsonInvoice.Total), false), Is.Not.Null);
        });
    }

    /// <summary>Types of contexts no longer in AssemblyLoadContext.All found in TypeDescriptor's per-type tables.</summary>
    private static List<string> TypesOfUnloadedContexts()
    {
        var live = new HashSet<AssemblyLoadContext>(AssemblyLoadContext.All);
        const BindingFlags Static = BindingFlags.Static | BindingFlags.NonPublic;
        var found = new List<string>();
        void Scan(string where, IEnumerable? keys)
        {
            foreach (object key in keys ?? Array.Empty<object>())
            {
                if (key is Type { Assembly.IsCollectible: true } type && !live.Contains(AssemblyLoadContext.GetLoadContext(type.Assembly)!))
                {
                    found.Add($"{where}: {type.FullName}");
                }
            }
        }

        Type descriptor = typeof(TypeDescriptor);
        Scan("s_defaultProviderInitialized", (descriptor.GetField("s_defaultProviderInitialized", Static)?.GetValue(null) as IDictionary)?.Keys);
        Scan("s_providerTypeTable", (descriptor.GetField("s_providerTypeTable", Static)?.GetValue(null) as IDictionary)?.Keys);
        Type node = descriptor.Assembly.GetType("System.ComponentModel.TypeDescriptor+TypeDescriptionNode")!;
        foreach (object value in ((Hashtable)descriptor.GetField("s_providerTable", Static)!.GetValue(null)!).Values.Cast<object>().ToList())
        {
            object? provider = node.IsInstanceOfType(value) ? node.GetField("Provider", BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public)!.GetValue(value) : null;
            if (provider?.GetType().GetField("_typeData", BindingFlags.Instance | BindingFlags.NonPublic)?.GetValue(provider) is IDictionary typeData)
            {
                Scan("_typeData", typeData.Keys);
            }
        }

        return found;
    }
}
