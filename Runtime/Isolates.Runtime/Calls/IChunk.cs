using Isolates.Engines;

namespace Isolates.Calls;

/// <summary>A map chunk as its engine runs it: one work item on an isolate's thread, or one call per item to a child.</summary>
internal interface IChunk
{
    /// <summary>Queues the whole chunk on the in-process engine's thread.</summary>
    void QueueOn(InProcessEngine engine);

    /// <summary>Sends every item to the child process as a call of its own.</summary>
    void SendTo(ChildProcessEngine engine);
}
