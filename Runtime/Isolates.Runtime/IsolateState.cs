namespace Isolates;

/// <summary>Where an isolate is in its life. It only ever moves forward through these states.</summary>
public enum IsolateState
{
    /// <summary>The context exists and the isolate's thread is starting.</summary>
    Starting,

    /// <summary>The isolate accepts and runs calls.</summary>
    Running,

    /// <summary><see cref="Isolate.CloseAsync"/> was called: new calls are refused, queued ones fail.</summary>
    Closing,

    /// <summary>The isolate's thread has ended and its context was unloaded (see <see cref="Isolate.UnloadStatus"/>).</summary>
    Closed,

    /// <summary>
    /// An exception escaped isolate code outside any call; the isolate was stopped and
    /// <see cref="Isolate.Completion"/> holds the exception.
    /// </summary>
    Faulted,
}
