namespace Isolates.Hosting;

/// <summary>
/// How a supervised isolate is restarted when it faults: the strategy, the restart intensity (at most
/// <see cref="MaxRestarts"/> restarts within <see cref="Within"/>, as in Erlang/OTP; one more fault in that window
/// stops the host with a non-zero exit code) and the exponential backoff between restarts.
/// </summary>
/// <remarks>
/// A worker whose <c>RunAsync</c> returns normally is never restarted (OTP's <c>transient</c> restart type): it
/// finished its job. Only faults (the entry point throws, or the isolate faults outside a call) cause restarts.
/// Backoff: the n-th restart inside the current window waits <c>InitialDelay * 2^(n-1)</c>, capped at
/// <see cref="MaxDelay"/>; as old faults leave the window, the delay shrinks again.
/// </remarks>
public sealed record RestartPolicy
{
    private RestartPolicy(RestartStrategy strategy, string? group, int maxRestarts, TimeSpan within)
    {
        Strategy = strategy;
        Group = group;
        MaxRestarts = maxRestarts;
        Within = within;
    }

    /// <summary>The default policy of <c>AddIsolate</c>: one-for-one, at most 3 restarts within 30 seconds.</summary>
    public static RestartPolicy Default { get; } = OneForOne(3, TimeSpan.FromSeconds(30));

    /// <summary>Never restart: faults are logged and recorded, the host keeps running.</summary>
    public static RestartPolicy Never { get; } = new(RestartStrategy.Never, null, 0, TimeSpan.Zero);

    /// <summary>What happens on a fault.</summary>
    public RestartStrategy Strategy { get; }

    /// <summary>For <see cref="RestartStrategy.AllForOne"/> and <see cref="RestartStrategy.RestForOne"/>: the group whose members restart together; otherwise null.</summary>
    public string? Group { get; }

    /// <summary>How many restarts are allowed within <see cref="Within"/> before the host is stopped.</summary>
    public int MaxRestarts { get; }

    /// <summary>The sliding window the restart intensity is measured over.</summary>
    public TimeSpan Within { get; }

    /// <summary>The wait before the first restart in a window; doubled for each further restart. Default 100 ms; set with <see cref="WithBackoff"/>.</summary>
    public TimeSpan InitialDelay { get; private init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest wait between restarts, however many faults came before. Default 10 seconds; set with <see cref="WithBackoff"/>.</summary>
    public TimeSpan MaxDelay { get; private init; } = TimeSpan.FromSeconds(10);

    /// <summary>Restart only the isolate that faulted, at most <paramref name="maxRestarts"/> times within <paramref name="within"/>.</summary>
    /// <param name="maxRestarts">Restarts allowed in the window; 0 means the first fault stops the host.</param>
    /// <param name="within">The window, greater than zero.</param>
    /// <returns>The policy.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A value is negative or the window is not positive.</exception>
    public static RestartPolicy OneForOne(int maxRestarts, TimeSpan within)
    {
        Validate(maxRestarts, within);
        return new RestartPolicy(RestartStrategy.OneForOne, null, maxRestarts, within);
    }

    /// <summary>
    /// Restart every running member of <paramref name="group"/> when one member faults. The intensity counts the
    /// group's restarts, so every member of a group must be registered with the same <paramref name="maxRestarts"/>
    /// and <paramref name="within"/>.
    /// </summary>
    /// <param name="group">The group's name; members share it.</param>
    /// <param name="maxRestarts">Group restarts allowed in the window; 0 means the first fault stops the host.</param>
    /// <param name="within">The window, greater than zero.</param>
    /// <returns>The policy.</returns>
    /// <exception cref="ArgumentException">The group name is null or blank.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A value is negative or the window is not positive.</exception>
    public static RestartPolicy AllForOne(string group, int maxRestarts, TimeSpan within)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(group);
        Validate(maxRestarts, within);
        return new RestartPolicy(RestartStrategy.AllForOne, group, maxRestarts, within);
    }

    /// <summary>
    /// Restart the member of <paramref name="group"/> that faulted and every running member registered after it, in
    /// registration order; members registered before it keep running. As with <see cref="AllForOne"/>, the intensity
    /// counts the group's restarts, so every member must be registered with the same policy.
    /// </summary>
    /// <param name="group">The group's name; members share it, in the order they are registered.</param>
    /// <param name="maxRestarts">Group restarts allowed in the window; 0 means the first fault stops the host.</param>
    /// <param name="within">The window, greater than zero.</param>
    /// <returns>The policy.</returns>
    /// <exception cref="ArgumentException">The group name is null or blank.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A value is negative or the window is not positive.</exception>
    public static RestartPolicy RestForOne(string group, int maxRestarts, TimeSpan within)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(group);
        Validate(maxRestarts, within);
        return new RestartPolicy(RestartStrategy.RestForOne, group, maxRestarts, within);
    }

    /// <summary>A copy of this policy with another backoff between restarts.</summary>
    /// <param name="initialDelay">The wait before the first restart in a window; zero or positive.</param>
    /// <param name="maxDelay">The cap on the wait; at least <paramref name="initialDelay"/>.</param>
    /// <returns>The new policy.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A delay is negative or the cap is below the initial delay.</exception>
    public RestartPolicy WithBackoff(TimeSpan initialDelay, TimeSpan maxDelay)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(initialDelay, TimeSpan.Zero);
        if (maxDelay < initialDelay)
        {
            throw new ArgumentOutOfRangeException(nameof(maxDelay), maxDelay, $"The backoff cap ({maxDelay}) must be at least the initial delay ({initialDelay}).");
        }

        return this with { InitialDelay = initialDelay, MaxDelay = maxDelay };
    }

    /// <inheritdoc />
    public override string ToString() => Strategy switch
    {
        RestartStrategy.Never => "Never",
        RestartStrategy.AllForOne => $"AllForOne({Group}, {MaxRestarts} within {Within})",
        RestartStrategy.RestForOne => $"RestForOne({Group}, {MaxRestarts} within {Within})",
        _ => $"OneForOne({MaxRestarts} within {Within})",
    };

    /// <summary>The backoff before the <paramref name="attempt"/>-th restart of the current window (1-based).</summary>
    internal TimeSpan DelayFor(int attempt)
    {
        double factor = Math.Pow(2, Math.Clamp(attempt - 1, 0, 30));
        double ticks = Math.Min(InitialDelay.Ticks * factor, MaxDelay.Ticks);
        return TimeSpan.FromTicks((long)ticks);
    }

    private static void Validate(int maxRestarts, TimeSpan within)
    {
        if (maxRestarts < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxRestarts), maxRestarts, "maxRestarts must be zero or positive (0: the first fault stops the host).");
        }

        if (within <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(within), within, "within (the restart-intensity window) must be greater than zero, e.g. TimeSpan.FromSeconds(30).");
        }
    }
}
