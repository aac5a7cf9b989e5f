namespace Isolates.Wire;

/// <summary>What the runtime needs from a generated codec whose type it does not know statically.</summary>
internal interface IGeneratedCodec
{
    Type Type { get; }

    Codec CreateCodec();
}
