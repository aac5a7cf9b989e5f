using Isolates.Benchmarks.Quick;

namespace Isolates.Cli;

/// <summary>
/// <c>isolates bench</c>: the benchmark project's quick mode (its own harness, called directly rather than copied);
/// it prints each step as it goes, then the table.
/// </summary>
internal static class BenchCommand
{
    public static async Task<int> ExecuteAsync(Terminal terminal, bool ci, FileInfo? write, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var args = new List<string> { "--quick" };
        if (ci)
        {
            args.Add("--ci");
        }

        if (write is not null)
        {
            args.Add("--write");
            args.Add(write.FullName);
        }

        if (QuickOptions.Parse([.. args]) is not { } options)
        {
            terminal.ErrorLine("[red]error[/]: the benchmark options were not understood.");
            return 2;
        }

        return await QuickRunner.RunAsync(options);
    }
}
