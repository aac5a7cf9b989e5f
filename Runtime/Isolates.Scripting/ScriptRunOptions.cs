namespace Isolates.Scripting;

/// <summary>
/// How a script is run: which copy it is when several run in parallel (<see cref="ScriptEnvironment.Index"/> and
/// <see cref="ScriptEnvironment.Count"/> inside the script), and the options of the isolate
/// <see cref="ScriptRunner.RunFileAsync"/> creates.
/// </summary>
public sealed class ScriptRunOptions
{
    /// <summary>This copy's index, from 0 to <see cref="Count"/> - 1; a script reads it as <see cref="ScriptEnvironment.Index"/>.</summary>
    public int Index { get; init; }

    /// <summary>How many copies run in parallel (at least 1); a script reads it as <see cref="ScriptEnvironment.Count"/>.</summary>
    public int Count { get; init; } = 1;

    /// <summary>Options for the isolate that <see cref="ScriptRunner.RunFileAsync"/> creates; null for defaults
    /// (the isolate is then named after the script file).</summary>
    public IsolateOptions? IsolateOptions { get; init; }

    internal void Validate()
    {
        if (Count < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(Count), Count, "ScriptRunOptions.Count must be at least 1.");
        }

        if (Index < 0 || Index >= Count)
        {
            throw new ArgumentOutOfRangeException(nameof(Index), Index, $"ScriptRunOptions.Index must be from 0 to Count - 1 ({Count - 1}).");
        }
    }
}
