using MessagePack;

namespace Isolates.Wire;

/// <summary>Reads collection headers defensively: a length can never exceed what the payload could hold.</summary>
internal static class CollectionHeader
{
    public static int ReadArrayLength(ref MessagePackReader reader)
    {
        int length = reader.ReadArrayHeader();
        Check(ref reader, length);
        return length;
    }

    public static int ReadMapLength(ref MessagePackReader reader)
    {
        int length = reader.ReadMapHeader();
        Check(ref reader, length);
        return length;
    }

    private static void Check(ref MessagePackReader reader, int length)
    {
        // Every element takes at least one byte, so a larger count means a corrupted or hostile payload; checking
        // here stops a 4-byte header from making the receiver allocate gigabytes.
        long remaining = reader.Sequence.Length - reader.Consumed;
        if (length < 0 || length > remaining)
        {
            throw new IsolateSerializationException($"The payload announces {length} elements but only {remaining} bytes remain; it is truncated or corrupted.");
        }
    }
}
