// Deliberately no "using Isolates.Hosting;": the registration extensions must be found the way Microsoft.Extensions'
// own are, through the namespace of IServiceCollection alone (issue 13).
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Isolates.Tests.Hosting.Conventions;

[TestFixture]
[CancelAfter(30_000)]
public sealed class ConventionTests
{
    [Test]
    public async Task AddIsolatesAndHealthCheck_WithOnlyTheDependencyInjectionNamespace_CompileAndStart()
    {
        HostApplicationBuilder builder = Host.CreateApplicationBuilder();
        builder.Services.AddIsolates(o => o.AddPool("scoring", size: 1));
        builder.Services.AddHealthChecks().AddIsolates();
        using IHost host = builder.Build();

        await host.StartAsync();
        await host.StopAsync();

        Assert.That(typeof(IsolateServiceCollectionExtensions).Namespace, Is.EqualTo("Microsoft.Extensions.DependencyInjection"));
        Assert.That(typeof(IsolateHealthCheckExtensions).Namespace, Is.EqualTo("Microsoft.Extensions.DependencyInjection"));
    }
}
