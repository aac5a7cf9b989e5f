namespace Isolates.Processes;

/// <summary>How a child-process isolate ended, as the host saw it.</summary>
internal sealed record ChildEnd(IsolateExitReason Reason, int? ExitCode, IsolateExecutionException? Fault, IReadOnlyList<string> Output, string Description);
