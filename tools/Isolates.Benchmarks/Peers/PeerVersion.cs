using System.Reflection;

namespace Isolates.Benchmarks.Peers;

/// <summary>The package version of a peer's assembly (its assembly version can be a fixed 1.0.0), without a commit suffix.</summary>
internal static class PeerVersion
{
    public static string Of(Type type)
    {
        string? version = type.Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? type.Assembly.GetName().Version?.ToString(3);
        return version is null ? "(unknown version)" : version.Split('+')[0];
    }
}
