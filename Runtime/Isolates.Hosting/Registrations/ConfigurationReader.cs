using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace Isolates.Hosting.Registrations;

/// <summary>
/// Reads an <c>Isolates</c> configuration section into <see cref="IsolateHostOptions"/>. Every error names the
/// configuration path and what was expected, and unknown keys are errors (a typo must not silently fall back to a
/// default). The schema is documented in docs/hosting.md.
/// </summary>
internal static class ConfigurationReader
{
    private static readonly string[] RootKeys = ["FailureExitCode", "Pools", "Isolates", "Channels"];
    private static readonly string[] PoolKeys = ["Size", "Collectible", "MaxQueuedItems", "ChunkSize", "DisposeTimeout", "CloseTimeout", "UnloadTimeout"];
    private static readonly string[] IsolateKeys = ["Type", "Restart", "Collectible", "CloseTimeout", "UnloadTimeout"];
    private static readonly string[] RestartKeys = ["Strategy", "MaxRestarts", "Within", "Group", "InitialDelay", "MaxDelay"];
    private static readonly string[] ChannelKeys = ["Type", "Capacity"];

    public static void Read(IConfiguration section, IsolateHostOptions options)
    {
        CheckKeys(section, RootKeys);
        if (Int(section, "FailureExitCode") is { } exitCode)
        {
            Apply(section, "FailureExitCode", () => options.FailureExitCode = exitCode);
        }

        foreach (IConfigurationSection pool in section.GetSection("Pools").GetChildren())
        {
            CheckKeys(pool, PoolKeys);
            var defaults = new IsolatePoolOptions();
            var poolOptions = new IsolatePoolOptions
            {
                Size = Int(pool, "Size") ?? 0,
                MaxQueuedItems = Int(pool, "MaxQueuedItems") ?? defaults.MaxQueuedItems,
                ChunkSize = Int(pool, "ChunkSize") ?? 0,
                DisposeTimeout = Time(pool, "DisposeTimeout") ?? defaults.DisposeTimeout,
                IsolateOptions = IsolateOptionsOf(pool),
            };
            Apply(pool, null, () => options.AddPool(pool.Key, poolOptions));
        }

        foreach (IConfigurationSection channel in section.GetSection("Channels").GetChildren())
        {
            CheckKeys(channel, ChannelKeys);
            Type elementType = TypeOf(channel, "element type");
            int capacity = Int(channel, "Capacity") ?? 1024;
            Apply(channel, null, () => options.AddChannel(channel.Key, elementType, capacity));
        }

        foreach (IConfigurationSection isolate in section.GetSection("Isolates").GetChildren())
        {
            CheckKeys(isolate, IsolateKeys);
            Type workerType = TypeOf(isolate, "worker type");
            RestartPolicy policy = PolicyOf(isolate.GetSection("Restart"));
            IsolateOptions? isolateOptions = IsolateOptionsOf(isolate);
            Apply(isolate, null, () => options.AddIsolate(isolate.Key, workerType, policy, isolateOptions));
        }
    }

    private static RestartPolicy PolicyOf(IConfigurationSection restart)
    {
        if (!restart.Exists())
        {
            return RestartPolicy.Default;
        }

        CheckKeys(restart, RestartKeys);
        string strategyText = restart["Strategy"] ?? nameof(RestartStrategy.OneForOne);
        if (!Enum.TryParse(strategyText, ignoreCase: true, out RestartStrategy strategy) || !Enum.IsDefined(strategy))
        {
            throw Error(restart, "Strategy", $"'{strategyText}' is not a restart strategy; use one of {string.Join(", ", Enum.GetNames<RestartStrategy>())}.");
        }

        int maxRestarts = Int(restart, "MaxRestarts") ?? RestartPolicy.Default.MaxRestarts;
        TimeSpan within = Time(restart, "Within") ?? RestartPolicy.Default.Within;
        RestartPolicy policy = null!;
        Apply(restart, null, () => policy = strategy switch
        {
            RestartStrategy.Never => RestartPolicy.Never,
            RestartStrategy.AllForOne => RestartPolicy.AllForOne(restart["Group"] ?? throw Error(restart, "Group", "an AllForOne policy needs the name of its group."), maxRestarts, within),
            RestartStrategy.RestForOne => RestartPolicy.RestForOne(restart["Group"] ?? throw Error(restart, "Group", "a RestForOne policy needs the name of its group."), maxRestarts, within),
            _ => RestartPolicy.OneForOne(maxRestarts, within),
        });
        TimeSpan initial = Time(restart, "InitialDelay") ?? policy.InitialDelay;
        TimeSpan max = Time(restart, "MaxDelay") ?? policy.MaxDelay;
        Apply(restart, null, () => policy = policy.WithBackoff(initial, max));
        return policy;
    }

    private static IsolateOptions? IsolateOptionsOf(IConfigurationSection section)
    {
        bool? collectible = Bool(section, "Collectible");
        TimeSpan? close = Time(section, "CloseTimeout");
        TimeSpan? unload = Time(section, "UnloadTimeout");
        if (collectible is null && close is null && unload is null)
        {
            return null;
        }

        var defaults = new IsolateOptions();
        return new IsolateOptions
        {
            Collectible = collectible ?? defaults.Collectible,
            CloseTimeout = close ?? defaults.CloseTimeout,
            UnloadTimeout = unload ?? defaults.UnloadTimeout,
        };
    }

    /// <summary>Finds a type by assembly-qualified name, or by full name in the assemblies already loaded.</summary>
    private static Type TypeOf(IConfigurationSection section, string what)
    {
        string name = section["Type"] is { Length: > 0 } text
            ? text.Trim()
            : throw Error(section, "Type", $"the {what} is required, e.g. \"MyCompany.Workers.IngestWorker, MyCompany.Workers\".");
        Type? type = null;
        try
        {
            type = Type.GetType(name, throwOnError: false);
        }
        catch (Exception ex) when (ex is FileLoadException or BadImageFormatException or ArgumentException)
        {
            throw Error(section, "Type", $"'{name}' could not be loaded: {ex.Message}");
        }

        type ??= AppDomain.CurrentDomain.GetAssemblies()
            .Where(a => !a.IsDynamic && !a.IsCollectible)
            .Select(a => a.GetType(name, throwOnError: false))
            .FirstOrDefault(t => t is not null);
        return type ?? throw Error(section, "Type", $"{what} '{name}' was not found. Give its assembly-qualified name (\"Namespace.Type, AssemblyName\") and make sure the application references that assembly.");
    }

    private static int? Int(IConfiguration section, string key) =>
        section[key] is not { } text ? null
        : int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) ? value
        : throw Error(section, key, $"'{text}' is not a whole number.");

    private static bool? Bool(IConfiguration section, string key) =>
        section[key] is not { } text ? null
        : bool.TryParse(text, out bool value) ? value
        : throw Error(section, key, $"'{text}' is not true or false.");

    private static TimeSpan? Time(IConfiguration section, string key) =>
        section[key] is not { } text ? null
        : TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out TimeSpan value) ? value
        : throw Error(section, key, $"'{text}' is not a time span; write it as [d.]hh:mm:ss[.fff], e.g. \"00:00:30\" for 30 seconds.");

    private static void CheckKeys(IConfiguration section, string[] known)
    {
        foreach (IConfigurationSection child in section.GetChildren())
        {
            if (!known.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                throw Error(section, child.Key, $"this is not a known setting here; known settings are {string.Join(", ", known)}.");
            }
        }
    }

    /// <summary>Runs a registration step, turning its argument errors into configuration errors that name the path.</summary>
    private static void Apply(IConfiguration section, string? key, Action apply)
    {
        try
        {
            apply();
        }
        catch (Exception ex) when (ex is ArgumentException or NotShareableException or TargetInvocationException)
        {
            Exception inner = ex is TargetInvocationException { InnerException: { } actual } ? actual : ex;
            throw new InvalidOperationException($"Invalid isolates configuration at '{PathOf(section, key)}': {inner.Message}", inner);
        }
    }

    private static InvalidOperationException Error(IConfiguration section, string key, string message) =>
        new($"Invalid isolates configuration at '{PathOf(section, key)}': {message}");

    private static string PathOf(IConfiguration section, string? key)
    {
        string path = section is IConfigurationSection s ? s.Path : string.Empty;
        return key is null ? path : path.Length == 0 ? key : $"{path}:{key}";
    }
}
