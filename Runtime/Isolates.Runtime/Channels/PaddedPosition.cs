using System.Runtime.InteropServices;

namespace Isolates.Channels;

/// <summary>
/// A position on a cache line of its own (56 or more bytes of padding on each side), so a ring's write position and
/// read position, each written by a different core, never share a line. Not nested in the generic ring: generic types
/// cannot have explicit layout.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
internal struct PaddedPosition
{
    [FieldOffset(64)]
    public long Value;
}
