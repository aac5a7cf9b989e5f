using System.Diagnostics.CodeAnalysis;

// Thread-static fields are named t_x (one value per thread), which the .editorconfig naming rules cannot tell apart
// from other private static fields (s_x): it has no way to select a field by its [ThreadStatic] attribute.
[assembly: SuppressMessage("Style", "IDE1006:Naming Styles", Scope = "member", Target = "~F:Isolates.Engines.InProcessEngine.t_current", Justification = "[ThreadStatic]: t_ prefix")]
[assembly: SuppressMessage("Style", "IDE1006:Naming Styles", Scope = "member", Target = "~F:Isolates.Dispatcher.TurnEnd.t_pending", Justification = "[ThreadStatic]: t_ prefix")]
[assembly: SuppressMessage("Style", "IDE1006:Naming Styles", Scope = "member", Target = "~F:Isolates.Wire.Payload.t_state", Justification = "[ThreadStatic]: t_ prefix")]
[assembly: SuppressMessage("Style", "IDE1006:Naming Styles", Scope = "member", Target = "~F:Isolates.Wire.ChannelEndCodec.t_crossing", Justification = "[ThreadStatic]: t_ prefix")]
