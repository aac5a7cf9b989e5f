using Isolates.Wire;

namespace Isolates;

/// <summary>
/// Answers "may this cross between isolates?" at run time, by the same rules the runtime applies when it sends
/// (see docs/shareable.md). Use it to fail early, at start-up or in a test, instead of on the first call.
/// </summary>
public static class Shareable
{
    /// <summary>Whether values of <typeparamref name="T"/> can be passed to, returned from, or sent between isolates.</summary>
    /// <typeparam name="T">The type to check.</typeparam>
    /// <returns>True when the type is shareable.</returns>
    public static bool IsShareable<T>() => IsShareable(typeof(T));

    /// <summary>Whether values of <paramref name="type"/> are shareable.</summary>
    /// <param name="type">The type to check.</param>
    /// <returns>True when the type is shareable.</returns>
    public static bool IsShareable(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        return CodecFactory.IsShareable(type, out _);
    }

    /// <summary>Whether this value, as its runtime type, is shareable; null is.</summary>
    /// <param name="value">The value to check.</param>
    /// <returns>True when the value can cross between isolates.</returns>
    public static bool IsShareable(object? value) => value is null || value is Channels.IChannelEnd || IsShareable(value.GetType());

    /// <summary>Throws <see cref="NotShareableException"/>, naming the type and member path, when <typeparamref name="T"/> is not shareable.</summary>
    /// <typeparam name="T">The type to check.</typeparam>
    /// <exception cref="NotShareableException">The type is not shareable; the message says which member and why.</exception>
    public static void EnsureShareable<T>() => _ = CodecFactory.Get(typeof(T));
}
