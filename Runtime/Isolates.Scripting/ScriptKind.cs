namespace Isolates.Scripting;

/// <summary>What a compiled script is: a program of top-level statements, or one expression to evaluate.</summary>
internal enum ScriptKind
{
    Program,
    Expression,
}
