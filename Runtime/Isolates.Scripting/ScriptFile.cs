namespace Isolates.Scripting;

/// <summary>One source file of a script, with its <c>#load</c>/<c>#r</c> lines blanked so line numbers stay true.</summary>
internal sealed record ScriptFile(string Path, string Text);
