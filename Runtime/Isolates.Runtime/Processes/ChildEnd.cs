namespace Isolates.Processes;

/// <summary>How a child-process isolate ended, as the host saw it.</summary>
internal sealed record ChildEnd(IsolateExitReason Reason, int? ExitCode, IsolateExecutionException? Fault, IReadOnlyList<string> Output, string Description)
{
    /// <summary>What channel bridges to the child could not deliver (items taken for it and not acknowledged as read), or null.</summary>
    public string? LostItems { get; init; }
}
