using System.Diagnostics.CodeAnalysis;

// Thread-static fields are named t_x, which the .editorconfig naming rules cannot select (see the runtime's own file).
[assembly: SuppressMessage("Style", "IDE1006:Naming Styles", Scope = "member", Target = "~F:Isolates.Tests.Scheduling.SeededScheduler.t_state", Justification = "[ThreadStatic]: t_ prefix")]
