using System.Diagnostics;
using Isolates.Channels;
using MessagePack;

namespace Isolates.Wire;

/// <summary>
/// Encodes values into one MessagePack byte block and decodes them back, turning every decoder failure into an
/// <see cref="IsolateSerializationException"/>. The byte block is what crosses between contexts: it references
/// nothing in either.
/// </summary>
internal static class Payload
{
    // All per-thread state in one object: one thread-local lookup per encode or decode instead of one per field.
    [ThreadStatic]
    private static ThreadState? t_state;

    private static ThreadState State => t_state ??= new ThreadState();

    /// <summary>
    /// The largest payload, in bytes: a payload is one array, so by default the largest array .NET allows. Lowered
    /// only by tests (through InternalsVisibleTo), so the limit can be tested without gigabytes; keep it above the
    /// 64 KiB a thread's buffer is kept at.
    /// </summary>
    internal static int MaxBytes
    {
        get;
        set
        {
            Debug.Assert(value > 64 * 1024 && value <= Array.MaxLength, "a limit below the kept buffer's size would not be checked");
            field = value;
        }
    } = Array.MaxLength;

    /// <summary>
    /// Called by a codec while encoding: adds a runtime-owned shared object (a channel's core) that travels beside
    /// the bytes by reference, and returns its index. Only objects of the runtime itself, never user objects.
    /// </summary>
    public static int Attach(object shared)
    {
        ThreadState state = State;
        if (!state.Encoding)
        {
            throw new InvalidOperationException("Attach is only valid while encoding.");
        }

        List<object> attaching = state.Attaching ??= []; // created only for the rare payload that has attachments
        attaching.Add(shared);
        return attaching.Count - 1;
    }

    /// <summary>Called by a codec while decoding: the attachment the bytes refer to by index.</summary>
    public static object Attached(int index)
    {
        object[]? attached = State.Attached;
        return attached is not null && (uint)index < (uint)attached.Length
            ? attached[index]
            : throw new IsolateSerializationException($"The payload refers to attachment {index}, which was not sent with it.");
    }

    /// <summary>Encodes the values with their codecs, in order, into a new exact-size array.</summary>
    public static byte[] Encode(ReadOnlySpan<Codec> codecs, ReadOnlySpan<object?> values)
    {
        byte[] bytes = Encode(codecs, values, out object[]? attachments);
        if (attachments is not null)
        {
            Release(attachments);
            throw new NotShareableException(null, string.Empty, "Channel ends and shared buffers can cross only as call arguments, call results and channel messages.");
        }

        return bytes;
    }

    /// <summary>Encodes the values; <paramref name="attachments"/> receives the shared objects that travel by reference.</summary>
    public static byte[] Encode(ReadOnlySpan<Codec> codecs, ReadOnlySpan<object?> values, out object[]? attachments)
    {
        EncodeScope scope = EncodeScope.Begin();
        try
        {
            var writer = new MessagePackWriter(scope.Buffer);
            for (int i = 0; i < codecs.Length; i++)
            {
                codecs[i].Write(ref writer, values[i], depth: 0);
            }

            writer.Flush();
            byte[] bytes = scope.Buffer.ToArray();
            attachments = scope.Attachments();
            return bytes;
        }
        catch
        {
            scope.ReleaseAttached();
            throw;
        }
        finally
        {
            scope.End();
        }
    }

    /// <summary>Encodes one value.</summary>
    public static byte[] Encode(Codec codec, object? value) => Encode([codec], [value]);

    /// <summary>
    /// Encodes one value of <typeparamref name="T"/> (without boxing when <paramref name="typed"/>, the generated codec, is given) into this
    /// thread's buffer and returns the written bytes, valid only until the next encode on this thread: the caller
    /// copies them at once (a channel stores small messages inline, without allocating).
    /// </summary>
    public static ReadOnlySpan<byte> EncodeOne<T>(Codec codec, GeneratedCodec<T>? typed, T value, out object[]? attachments)
    {
        EncodeScope scope = EncodeScope.Begin();
        try
        {
            var writer = new MessagePackWriter(scope.Buffer);
            if (typed is not null)
            {
                typed.WriteTyped(ref writer, value, depth: 0);
            }
            else
            {
                codec.Write(ref writer, value, depth: 0);
            }

            writer.Flush();
            attachments = scope.Attachments();
            return scope.Buffer.WrittenSpan; // stays valid until the next encode on this thread
        }
        catch
        {
            scope.ReleaseAttached();
            throw;
        }
        finally
        {
            scope.End();
        }
    }

    /// <summary>Decodes one value of <typeparamref name="T"/> from bytes held outside an array (copied to this thread's scratch array first).</summary>
    public static T DecodeOne<T>(ReadOnlySpan<byte> payload, Codec codec, GeneratedCodec<T>? typed, object[]? attachments)
    {
        // Taken, not borrowed, like the encode buffer: a constructor that itself decodes gets an array of its own.
        ThreadState state = State;
        byte[] scratch = state.DecodeBuffer is { } cached && cached.Length >= payload.Length ? cached : new byte[Math.Max(64, payload.Length)];
        state.DecodeBuffer = null;
        try
        {
            payload.CopyTo(scratch);
            return DecodeOne(scratch.AsMemory(0, payload.Length), codec, typed, attachments);
        }
        finally
        {
            state.DecodeBuffer = scratch;
        }
    }

    /// <summary>Decodes one value of <typeparamref name="T"/> (without boxing when <paramref name="typed"/>, the generated codec, is given); the payload must hold exactly it.</summary>
    public static T DecodeOne<T>(ReadOnlyMemory<byte> payload, Codec codec, GeneratedCodec<T>? typed, object[]? attachments)
    {
        ThreadState state = State;
        object[]? outerAttached = state.Attached;
        state.Attached = attachments;
        try
        {
            var reader = new MessagePackReader(payload);
            T value = typed is not null ? typed.ReadTyped(ref reader, depth: 0) : (T)codec.Read(ref reader, depth: 0)!;
            if (!reader.End)
            {
                throw new IsolateSerializationException($"The payload has {payload.Length - reader.Consumed} bytes left over after its last value; it is corrupted.");
            }

            return value;
        }
        catch (Exception ex) when (IsDecoderFailure(ex))
        {
            throw new IsolateSerializationException($"The payload could not be decoded: {ex.Message}", ex);
        }
        finally
        {
            state.Attached = outerAttached;
        }
    }

    /// <summary>Decodes values with the receiver's codecs into <paramref name="destination"/>; the payload must hold exactly that many.</summary>
    public static void Decode(ReadOnlyMemory<byte> payload, ReadOnlySpan<Codec> codecs, Span<object?> destination, object[]? attachments = null)
    {
        ThreadState state = State;
        object[]? outerAttached = state.Attached;
        state.Attached = attachments;
        try
        {
            var reader = new MessagePackReader(payload);
            for (int i = 0; i < codecs.Length; i++)
            {
                destination[i] = codecs[i].Read(ref reader, depth: 0);
            }

            if (!reader.End)
            {
                throw new IsolateSerializationException($"The payload has {payload.Length - reader.Consumed} bytes left over after its last value; it is corrupted.");
            }
        }
        catch (Exception ex) when (IsDecoderFailure(ex))
        {
            throw new IsolateSerializationException($"The payload could not be decoded: {ex.Message}", ex);
        }
        finally
        {
            state.Attached = outerAttached;
        }
    }

    /// <summary>Decodes one value.</summary>
    public static object? Decode(ReadOnlyMemory<byte> payload, Codec codec, object[]? attachments = null)
    {
        object? result = null;
        Decode(payload, new ReadOnlySpan<Codec>(ref codec), new Span<object?>(ref result), attachments);
        return result;
    }

    /// <summary>Gives back the references shared buffers added for handles that will not be sent after all.</summary>
    internal static void Release(IEnumerable<object> attachments)
    {
        foreach (object shared in attachments)
        {
            (shared as SharedBufferCore)?.Release();
        }
    }

    /// <summary>The exceptions MessagePack's reader and the codecs throw for bytes that are not a valid payload.</summary>
    private static bool IsDecoderFailure(Exception ex) =>
        ex is MessagePackSerializationException or EndOfStreamException or OverflowException or InvalidCastException or ArgumentException or FormatException or InvalidOperationException;

    /// <summary>
    /// One encode on this thread: takes the thread's buffer (taken, not borrowed: a getter that itself encodes gets a
    /// buffer of its own) and collects attachments, restoring the outer encode's state at the end.
    /// </summary>
    private readonly ref struct EncodeScope
    {
        private readonly ThreadState _state;
        private readonly List<object>? _outerAttaching;
        private readonly bool _outerEncoding;

        private EncodeScope(ThreadState state, PayloadBuffer buffer)
        {
            _state = state;
            Buffer = buffer;
            _outerAttaching = state.Attaching;
            _outerEncoding = state.Encoding;
        }

        public PayloadBuffer Buffer { get; }

        public static EncodeScope Begin()
        {
            ThreadState state = State;
            PayloadBuffer buffer = state.Buffer ?? new PayloadBuffer(256);
            state.Buffer = null;
            buffer.Reset();
            var scope = new EncodeScope(state, buffer);
            state.Attaching = null;
            state.Encoding = true;
            return scope;
        }

        public object[]? Attachments() => _state.Attaching is { Count: > 0 } attached ? [.. attached] : null;

        /// <summary>
        /// The encode failed: gives back the references shared buffers added for handles that will never arrive
        /// (a channel core is not counted, so it needs nothing).
        /// </summary>
        public void ReleaseAttached()
        {
            if (_state.Attaching is { } attached)
            {
                Release(attached);
                attached.Clear();
            }
        }

        public void End()
        {
            _state.Attaching = _outerAttaching;
            _state.Encoding = _outerEncoding;
            if (Buffer.Capacity <= 64 * 1024)
            {
                _state.Buffer = Buffer; // keep small buffers for the next message; let large ones go
            }
        }
    }

    /// <summary>What one thread's encodes and decodes keep between calls and hand to nested codecs.</summary>
    private sealed class ThreadState
    {
        /// <summary>The encode buffer, taken (set to null) while in use, so a re-entrant encode gets its own.</summary>
        public PayloadBuffer? Buffer { get; set; }

        /// <summary>Attachments of the encode in progress; created only for the rare payload that has some.</summary>
        public List<object>? Attaching { get; set; }

        public bool Encoding { get; set; }

        /// <summary>Attachments of the decode in progress.</summary>
        public object[]? Attached { get; set; }

        /// <summary>Scratch array inline payloads are decoded from, taken while in use like <see cref="Buffer"/>.</summary>
        public byte[]? DecodeBuffer { get; set; }
    }
}
