namespace Isolates;

/// <summary>
/// Marks a record, class or struct as a shareable value: immutable (get-only or init-only properties, readonly
/// fields) and made only of shareable members, so it can cross between isolates as a copy. The rule is checked when
/// you build (the analyzer shipped with the runtime reports a build error with the member path) and again at run
/// time when the type is first sent. Members are sent by name; the receiver rebuilds its own copy of the type through
/// the constructor whose parameters match the members (a record's primary constructor), then sets the rest.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct, Inherited = false, AllowMultiple = false)]
public sealed class ShareableAttribute : Attribute
{
}
