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
    ObjectResult = 8, // id = the child's object call id; body: ObjectSpecs of the proxies in the result, then the encoded result
    ObjectError = 9,  // id = the child's object call id; body: a RemoteError

    // child -> host
    Ready = 20,    // id = the child's process id; sent once its isolate runs
    Result = 21,   // id = call id; body: the encoded result (empty for calls that return nothing)
    Error = 22,    // id = call id; body: a RemoteError
    Fault = 23,    // body: a RemoteError: code escaped the isolate outside any call, or a thread's unhandled exception
    MemoryLimit = 24, // body: a RemoteError: the GC heap limit was reached; the child exits next
    Closed = 25,   // the child's isolate has closed; the child exits next
    ResultWithObjects = 26, // id = call id; body: the export ids of the host's proxies in the result, then the encoded result

    // child -> host: calls of the host's objects passed into the child (ChildObjects / HostObjects)
    ObjectCall = 30,    // id = the child's object call id; body: ObjectCallHeader, then the encoded arguments
    ObjectCancel = 31,  // id = the child's object call id
    ObjectRelease = 32, // id = the child's object call id; body: int64 export id (Isolate.ReleaseAsync in the child)
    ObjectDrop = 33,    // id = export id; body: int64: how many of the host's sends of it the child is done with
                        // (also host -> child: id = the child's object id; how many of the child's sends the host is done with)

    // either way: channel ends passed to the child (ChannelBridge); id = the bridge's id, chosen by the host
    ChannelItems = 40,  // body: items as [int32 length][encoded item]..., sent only against credit
    ChannelDone = 41,   // body: empty (completed) or a RemoteError: the sending side completed, or the receiving side's channel was
    ChannelCredit = 42, // body: int32: the receiver took that many more items (the first one from a child's reader: its window)
}
