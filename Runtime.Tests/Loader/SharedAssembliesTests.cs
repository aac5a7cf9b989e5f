using Isolates.Tests.Support;

namespace Isolates.Tests.Loader;

/// <summary>SharedAssemblies names that match nothing fail clearly instead of being ignored (issue 12, part 4).</summary>
[TestFixture]
[CancelAfter(30_000)]
public class SharedAssembliesTests
{
    [Test]
    public void CreateAsync_SharedNameWithATypo_FailsNamingItAndTheCloseMatch()
    {
        string real = typeof(Counter).Assembly.GetName().Name!; // Isolates.Runtime.Tests.Support
        var error = Assert.ThrowsAsync<ArgumentException>(() => Isolate.CreateAsync(new IsolateOptions { SharedAssemblies = [real + "s"] }))!;

        Assert.Multiple(() =>
        {
            Assert.That(error.ParamName, Is.EqualTo(nameof(IsolateOptions.SharedAssemblies)));
            Assert.That(error.Message, Does.Contain($"'{real}s'").And.Contain($"Did you mean '{real}'"));
        });
    }

    [Test]
    public void CreateAsync_PackageIdInsteadOfAssemblyName_SuggestsTheAssemblyName()
    {
        // A package id with separators where the assembly has others (BCrypt.Net-Next ships BCrypt-Net-Next.dll).
        var error = Assert.ThrowsAsync<ArgumentException>(() => Isolate.CreateAsync(new IsolateOptions { SharedAssemblies = ["Isolates-Runtime.Tests-Support"] }))!;

        Assert.That(error.Message, Does.Contain("not package ids").And.Contain("'Isolates.Runtime.Tests.Support'"));
    }

    [Test]
    public void CreateAsync_SharedNameMatchingNothingAtAll_FailsWithoutSuggestions()
    {
        var error = Assert.ThrowsAsync<ArgumentException>(() => Isolate.CreateAsync(new IsolateOptions { SharedAssemblies = ["Zqxj.Nothing.Like.It"] }))!;

        Assert.That(error.Message, Does.Contain("'Zqxj.Nothing.Like.It'").And.Not.Contain("Did you mean"));
    }

    [Test]
    public async Task CreateAsync_FrameworkAndApplicationNames_AreAccepted()
    {
        await using Isolate iso = await Isolate.CreateAsync(new IsolateOptions { SharedAssemblies = ["System.Text.Json", typeof(Counter).Assembly.GetName().Name!] });

        Assert.That(await iso.CallAsync(Work.Identity, 3), Is.EqualTo(3));
    }
}
