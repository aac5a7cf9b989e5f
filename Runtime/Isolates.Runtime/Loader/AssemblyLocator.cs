using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.Loader;

namespace Isolates.Loader;

/// <summary>
/// Finds the bytes of an assembly an isolate must load privately: a registered in-memory image (scripts), the file
/// the default context loaded it from, the application's trusted-platform list, the application folder, or a folder
/// added for probing (that of a script's <c>#r</c> assembly).
/// </summary>
internal static class AssemblyLocator
{
    private static readonly Lazy<Dictionary<string, string>> TrustedPlatformAssemblies = new(ReadTrustedPlatformAssemblies);
    private static readonly ConcurrentDictionary<string, InMemoryAssembly> InMemory = new(StringComparer.OrdinalIgnoreCase);
    private static readonly ConcurrentDictionary<string, bool> ProbingDirectories = new(StringComparer.Ordinal);

    /// <summary>An assembly image held in memory, with its symbols, so every isolate can load the same bytes.</summary>
    public sealed record InMemoryAssembly(byte[] Image, byte[]? Symbols);

    /// <summary>Registers an in-memory image under its simple name so isolates (and their children) can load it.</summary>
    public static void Register(string simpleName, byte[] image, byte[]? symbols)
    {
        InMemory[simpleName] = new InMemoryAssembly(image, symbols);
        Interlocked.Increment(ref s_version);
    }

    private static int s_version;

    /// <summary>Changes whenever an image or a probing folder is added (child-process isolates get the new ones before their next call).</summary>
    public static int Version => Volatile.Read(ref s_version);

    /// <summary>The registered in-memory image for a simple name, if any.</summary>
    public static InMemoryAssembly? FindInMemory(string simpleName) =>
        InMemory.TryGetValue(simpleName, out InMemoryAssembly? found) ? found : null;

    /// <summary>
    /// Adds a folder where isolates look for an assembly that nothing else provides (after the application's own): the
    /// folder of a script's <c>#r</c> assembly, where its dependencies usually sit beside it.
    /// </summary>
    public static void AddProbingDirectory(string directory)
    {
        if (ProbingDirectories.TryAdd(Path.GetFullPath(directory), true))
        {
            Interlocked.Increment(ref s_version);
        }
    }

    /// <summary>Every registered in-memory image (a child-process isolate gets them all).</summary>
    public static KeyValuePair<string, InMemoryAssembly>[] InMemorySnapshot() => [.. InMemory];

    /// <summary>Every extra probing folder.</summary>
    public static string[] ProbingSnapshot() => [.. ProbingDirectories.Keys];

    /// <summary>The file to load the named assembly from, or null when it is not known.</summary>
    public static string? FindPath(string simpleName)
    {
        if (TrustedPlatformAssemblies.Value.TryGetValue(simpleName, out string? path))
        {
            return path;
        }

        foreach (Assembly loaded in AssemblyLoadContext.Default.Assemblies)
        {
            if (string.Equals(loaded.GetName().Name, simpleName, StringComparison.OrdinalIgnoreCase) && loaded.Location.Length > 0)
            {
                return loaded.Location;
            }
        }

        string candidate = Path.Combine(AppContext.BaseDirectory, simpleName + ".dll");
        if (File.Exists(candidate))
        {
            return candidate;
        }

        foreach (string directory in ProbingDirectories.Keys)
        {
            candidate = Path.Combine(directory, simpleName + ".dll");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Up to three names of assemblies the application can load that look like <paramref name="simpleName"/> (for error messages).</summary>
    public static string[] NearNames(string simpleName)
    {
        string wanted = Normalize(simpleName);
        IEnumerable<string> known = TrustedPlatformAssemblies.Value.Keys
            .Concat(AssemblyLoadContext.Default.Assemblies.Select(a => a.GetName().Name ?? string.Empty))
            .Concat(Directory.EnumerateFiles(AppContext.BaseDirectory, "*.dll").Select(Path.GetFileNameWithoutExtension).OfType<string>());
        return [.. known
            .Where(name => name.Length > 0)
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .Select(name => (Name: name, Distance: Distance(wanted, Normalize(name))))
            .Where(candidate => candidate.Distance <= Math.Max(2, wanted.Length / 5))
            .OrderBy(candidate => candidate.Distance)
            .ThenBy(candidate => candidate.Name, StringComparer.Ordinal)
            .Take(3)
            .Select(candidate => candidate.Name)];
    }

    /// <summary>Lower case without separators, so "BCrypt.Net-Next" and "BCrypt-Net-Next" compare equal.</summary>
    private static string Normalize(string name) =>
        string.Concat(name.Where(char.IsLetterOrDigit)).ToLowerInvariant();

    /// <summary>Levenshtein distance (names are short; only on an error path).</summary>
    private static int Distance(string a, string b)
    {
        int[] previous = [.. Enumerable.Range(0, b.Length + 1)];
        int[] current = new int[b.Length + 1];
        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    private static Dictionary<string, string> ReadTrustedPlatformAssemblies()
    {
        var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") is string list)
        {
            foreach (string path in list.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            {
                map.TryAdd(Path.GetFileNameWithoutExtension(path), path);
            }
        }

        return map;
    }
}
