namespace Isolates.Calls;

/// <summary>The result of a call that returns nothing; never seen by users (they get a plain Task).</summary>
internal readonly struct Unit
{
}
