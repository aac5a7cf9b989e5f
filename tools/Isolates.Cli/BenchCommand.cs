using Isolates.Benchmarks.Quick;

namespace Isolates.Cli;

/// <summary>
/// <c>isolates bench</c>: the benchmark project's quick mode (its own harness, called directly rather than copied);
/// it prints each step as it goes, then the table.
/// </summary>
internal static class BenchCommand
{
    public static async Task<int> ExecuteAsync(Terminal terminal, Settings settings, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var args = new List<string> { "--quick" };
        if (settings.Ci)
        {
            args.Add("--ci");
        }

        if (settings.NoPeers)
        {
            args.Add("--no-peers");
        }

        if (settings.Only is { } figure)
        {
            args.Add("--only");
            args.Add(figure);
        }

        if (settings.Write is { } write)
        {
            args.Add("--write");
            args.Add(write.FullName);
        }

        if (QuickOptions.Parse([.. args], terminal.Error) is not { } options)
        {
            return 2; // the parser said why on the terminal's error stream
        }

        return await QuickRunner.RunAsync(options);
    }

    /// <summary>What <c>isolates bench</c> was asked for.</summary>
    public sealed record Settings(bool Ci, FileInfo? Write, string? Only, bool NoPeers);
}
