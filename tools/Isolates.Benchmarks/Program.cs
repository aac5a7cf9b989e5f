using BenchmarkDotNet.Running;
using Isolates.Benchmarks.Quick;

// Two modes from one command line: --quick runs the Stopwatch harness (seconds, for docs and CI); anything else
// goes to BenchmarkDotNet (minutes, for careful comparisons), e.g. --filter '*' or --list flat.
if (args is [RealFirstCallFigure.ChildFlag])
{
    return RealFirstCallFigure.RunChild(); // hidden: the host's own first call, in a fresh process, for the real-first-call figure
}

if (args.Contains("--quick"))
{
    return QuickOptions.Parse(args) is { } options ? await QuickRunner.RunAsync(options) : 2;
}

BenchmarkSwitcher.FromAssembly(typeof(QuickRunner).Assembly).Run(args);
return 0;
