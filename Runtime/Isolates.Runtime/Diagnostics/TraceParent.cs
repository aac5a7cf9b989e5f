using System.Diagnostics;

namespace Isolates.Diagnostics;

/// <summary>
/// The trace context a call or a channel item carries from its sender to the isolate that handles it: the W3C trace
/// id, span id, flags and trace state of the sender's activity (never the activity object, which belongs to the
/// sender and would keep whatever it references alive). Allocated only while the <c>Isolates</c> activity source
/// has a listener and the sender has a current activity.
/// </summary>
internal sealed class TraceParent(ActivityContext context)
{
    public ActivityContext Context { get; } = context;
}
