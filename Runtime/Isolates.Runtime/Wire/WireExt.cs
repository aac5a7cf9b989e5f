namespace Isolates.Wire;

/// <summary>
/// The MessagePack extension types the wire format uses, for the few values a plain MessagePack type cannot carry
/// exactly. Each is written only for such a value, so every other value keeps its plain (and MessagePack-CSharp
/// compatible) bytes.
/// </summary>
internal static class WireExt
{
    /// <summary>
    /// A string that is not well-formed UTF-16 (a lone or reversed surrogate): MessagePack's str must be UTF-8, which
    /// cannot hold such a string, so its UTF-16 code units travel as they are, little-endian, two bytes each.
    /// </summary>
    public const sbyte Utf16String = 85; // 'U'

    /// <summary>
    /// A <c>T?</c> that holds a value whose own encoding is nil (<c>default(ImmutableArray&lt;T&gt;)</c>): without it
    /// the value would arrive as null. Carries no data.
    /// </summary>
    public const sbyte PresentDefault = 68; // 'D'
}
