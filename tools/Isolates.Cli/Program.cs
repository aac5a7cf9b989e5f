using Isolates.Cli;

// `isolates run|check|bench`: everything lives in CliApp so tests can run it in-process with their own writers.
return await CliApp.RunAsync(args, Console.Out, Console.Error);
