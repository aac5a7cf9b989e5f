namespace Isolates.Calls;

/// <summary>What a called function returns, as chosen by the <c>CallAsync</c> overload the caller used.</summary>
internal enum ResultShape
{
    /// <summary>A value, returned synchronously.</summary>
    Value,

    /// <summary>Nothing (an Action).</summary>
    Void,

    /// <summary>A <see cref="Task"/> to await inside the isolate.</summary>
    Task,

    /// <summary>A <see cref="Task{TResult}"/> to await inside the isolate.</summary>
    TaskOfT,

    /// <summary>A <see cref="ValueTask"/> to await inside the isolate.</summary>
    ValueTask,

    /// <summary>A <see cref="ValueTask{TResult}"/> to await inside the isolate.</summary>
    ValueTaskOfT,
}
