namespace Isolates.Hosting;

/// <summary>What a supervisor does when a supervised isolate faults, named after Erlang/OTP's supervisor strategies.</summary>
public enum RestartStrategy
{
    /// <summary>
    /// Never restart (OTP's <c>temporary</c> child): the fault is logged and recorded, the isolate stays down and
    /// the host keeps running. For optional work whose failure must not take anything else down.
    /// </summary>
    Never,

    /// <summary>Restart only the isolate that faulted, in a fresh isolate (fresh statics). Others are untouched.</summary>
    OneForOne,

    /// <summary>
    /// Restart every running member of the isolate's group when one member faults: the others are stopped
    /// (cancelled, then closed) and all are started again, in registration order. For isolates that depend on each
    /// other's state, where restarting one alone would leave the rest inconsistent.
    /// </summary>
    AllForOne,

    /// <summary>
    /// Restart the member of the isolate's group that faulted and every running member registered after it: those are
    /// stopped (cancelled, then closed) and all are started again, in registration order. Members registered before it
    /// are untouched. For a chain where later members depend on earlier ones (a reader of what the faulted member
    /// produced, say) but not the other way round.
    /// </summary>
    RestForOne,
}
