namespace Isolates.Processes;

/// <summary>The kinds of frame on the pipe between a host and its child-process isolate.</summary>
internal enum FrameType : byte
{
    // host -> child
    Hello = 1,     // body: the isolate's options (ChildOptions)
    Call = 2,      // id = call id; body: shape, method identity, encoded arguments
    Cancel = 3,    // id = call id
    Close = 4,     // close the isolate (its CloseTimeout applies in the child), then exit
    Assembly = 5,  // body: an assembly held in memory on the host (a compiled script): simple name, image, symbols
    Probe = 6,     // body: a folder where the host's isolates look for assemblies (a script's #r folder)
    Adopt = 7,     // body: ChildOptions: a pre-warmed child handed out takes its creator's name and options

    // child -> host
    Ready = 20,    // id = the child's process id; sent once its isolate runs
    Result = 21,   // id = call id; body: the encoded result (empty for calls that return nothing)
    Error = 22,    // id = call id; body: a RemoteError
    Fault = 23,    // body: a RemoteError: code escaped the isolate outside any call, or a thread's unhandled exception
    MemoryLimit = 24, // body: a RemoteError: the GC heap limit was reached; the child exits next
    Closed = 25,   // the child's isolate has closed; the child exits next

    // either way: channel ends passed to the child (ChannelBridge); id = the bridge's id, chosen by the host
    ChannelItems = 40,  // body: items as [int32 length][encoded item]..., sent only against credit
    ChannelDone = 41,   // body: empty (completed) or a RemoteError: the sending side completed, or the receiving side's channel was
    ChannelCredit = 42, // body: int32: the receiver took that many more items (the first one from a child's reader: its window)
}
