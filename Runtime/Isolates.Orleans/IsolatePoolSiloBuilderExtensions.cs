using Isolates;
using Isolates.Orleans;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Orleans.Serialization;

namespace Orleans.Hosting;

/// <summary>Runs isolate pools on a silo, for maps from anywhere in the cluster (<c>GetIsolatePool(name)</c>).</summary>
public static class IsolatePoolSiloBuilderExtensions
{
    /// <summary>
    /// Runs an isolate pool named <paramref name="name"/> of <paramref name="sizePerSilo"/> isolates on this silo,
    /// started with the silo and disposed when it stops. Call it on every silo that should take the pool's work
    /// (with the same name); a map spreads its chunks over all of them.
    /// </summary>
    /// <param name="builder">The silo builder.</param>
    /// <param name="name">The pool's name, the same on every silo; callers find the pool by it.</param>
    /// <param name="sizePerSilo">Isolates on this silo; 0 means one per processor.</param>
    /// <returns>The builder.</returns>
    public static ISiloBuilder AddIsolatePool(this ISiloBuilder builder, string name, int sizePerSilo)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sizePerSilo);
        return builder.AddIsolatePool(name, new IsolatePoolOptions { Size = sizePerSilo });
    }

    /// <summary>
    /// Runs an isolate pool named <paramref name="name"/> on this silo with the given options (size, initializer,
    /// isolate options, <see cref="IsolatePoolOptions.DisposeTimeout"/> for the silo's stop). The pool's isolates are
    /// named after <see cref="IsolatePoolOptions.Name"/>, or <paramref name="name"/> when it is null.
    /// </summary>
    /// <param name="builder">The silo builder.</param>
    /// <param name="name">The pool's name, the same on every silo; callers find the pool by it.</param>
    /// <param name="options">How this silo's pool is created.</param>
    /// <returns>The builder.</returns>
    public static ISiloBuilder AddIsolatePool(this ISiloBuilder builder, string name, IsolatePoolOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (builder.Services.Any(d => d.ImplementationInstance is IsolatePoolRegistration r && r.Name == name))
        {
            throw new InvalidOperationException($"An isolate pool named '{name}' is already added to this silo; call AddIsolatePool once per name.");
        }

        if (!builder.Services.Any(d => d.ServiceType == typeof(SiloIsolatePools)))
        {
            builder.Services.AddSingleton<SiloIsolatePools>();
            builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(services => services.GetRequiredService<SiloIsolatePools>());
            builder.AddPlacementDirector<SiloTargetedPlacement, SiloTargetedPlacementDirector>();

            // This package's grains and messages, even when the application's own build found no reason to list it.
            builder.Services.AddSerializer(serializer => serializer.AddAssembly(typeof(SiloIsolatePools).Assembly));
        }

        builder.Services.AddSingleton(new IsolatePoolRegistration(name, options));
        return builder;
    }
}
