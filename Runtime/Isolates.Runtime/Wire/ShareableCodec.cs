using System.ComponentModel;
using Isolates.Wire;
using MessagePack;

namespace Isolates.CompilerServices;

/// <summary>
/// Base of the codecs the Isolates source generator writes into a user's assembly, one per <c>[Shareable]</c> type.
/// For generated code only: do not derive from it by hand. A generated codec reads and writes the members of
/// <typeparamref name="T"/> directly (no reflection, no boxing, no code emitted at run time) and produces exactly
/// the bytes the runtime's reflection codec produces, so either side of a channel or call may use either one.
/// </summary>
/// <typeparam name="T">The <c>[Shareable]</c> type, in the context whose copy of the assembly holds the codec.</typeparam>
/// <remarks>
/// The runtime writes the array header (<see cref="MemberCount"/> elements), the nil of a null reference and the
/// nesting check; the generated code only writes and reads the members, in order, and calls the constructor. It is
/// kept small on purpose: code in an isolate's collectible context is compiled again in every isolate, so anything
/// non-trivial is a call into <see cref="ShareableWire"/>, which is compiled once, in the shared context.
/// </remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public abstract class ShareableCodec<T> : IGeneratedCodec
{
    /// <summary>Creates the codec; the generated code passes the number of encoded members.</summary>
    /// <param name="memberCount">How many members the type encodes, in the order the wire format defines.</param>
    protected ShareableCodec(int memberCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(memberCount);
        MemberCount = memberCount;
    }

    /// <summary>How many members a value encodes: the length of the MessagePack array that carries it.</summary>
    public int MemberCount { get; }

    /// <summary>Writes the members of <paramref name="value"/> (not null), in wire order.</summary>
    /// <param name="writer">The writer, positioned after the array header.</param>
    /// <param name="value">The value to write.</param>
    /// <param name="depth">The nesting depth of the members, passed on to nested values.</param>
    public abstract void WriteMembers(ref MessagePackWriter writer, T value, int depth);

    /// <summary>Reads the members, in wire order, and builds the value.</summary>
    /// <param name="reader">The reader, positioned after the array header.</param>
    /// <param name="depth">The nesting depth of the members, passed on to nested values.</param>
    /// <returns>The rebuilt value.</returns>
    public abstract T ReadMembers(ref MessagePackReader reader, int depth);

    Type IGeneratedCodec.Type => typeof(T);

    Codec IGeneratedCodec.CreateCodec() => new GeneratedCodec<T>(this);
}
