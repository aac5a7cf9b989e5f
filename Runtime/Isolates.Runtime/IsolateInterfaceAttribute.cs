namespace Isolates;

/// <summary>
/// Marks an interface whose implementation lives in one isolate and is called from anywhere through a generated
/// proxy. The analyzer shipped with the runtime refuses at build time what a proxy cannot carry (ISO007-ISO015).
/// </summary>
[AttributeUsage(AttributeTargets.Interface, Inherited = false)]
public sealed class IsolateInterfaceAttribute : Attribute
{
}
