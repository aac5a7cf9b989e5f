using System.Threading.Channels;

namespace Isolates.Hosting;

/// <summary>
/// The isolates a host owns, as configured with <c>AddIsolates</c>: its pools, its supervised isolates and the
/// channels it owns. Resolve it from the service provider; the host starts and stops everything it lists.
/// </summary>
public interface IIsolateHost
{
    /// <summary>The configured pool named <paramref name="name"/>. Pools exist from host start to host stop.</summary>
    /// <param name="name">The name given to <see cref="IsolateHostOptions.AddPool(string, int)"/>.</param>
    /// <returns>The running pool.</returns>
    /// <exception cref="ArgumentException">No pool has that name; the message lists the configured ones.</exception>
    /// <exception cref="InvalidOperationException">The host has not started yet.</exception>
    /// <exception cref="ObjectDisposedException">The host has stopped.</exception>
    IsolatePool GetPool(string name);

    /// <summary>
    /// The host-owned channel named <paramref name="name"/>. It exists as soon as the service provider does (before
    /// start), so producers and worker arguments can use it; the host completes and drains it when it stops.
    /// </summary>
    /// <typeparam name="T">The element type it was registered with.</typeparam>
    /// <param name="name">The name given to <see cref="IsolateHostOptions.AddChannel{T}(string, int)"/>.</param>
    /// <returns>The channel; pass its ends to isolates.</returns>
    /// <exception cref="ArgumentException">No channel has that name, or it carries another element type.</exception>
    Channel<T> GetChannel<T>(string name);

    /// <summary>The status of the supervised isolate named <paramref name="name"/>.</summary>
    /// <param name="name">The name given to <c>AddIsolate</c>.</param>
    /// <returns>A snapshot.</returns>
    /// <exception cref="ArgumentException">No supervised isolate has that name; the message lists the configured ones.</exception>
    IsolateStatus GetStatus(string name);

    /// <summary>The status of every supervised isolate, in registration order.</summary>
    /// <returns>Snapshots.</returns>
    IReadOnlyList<IsolateStatus> GetStatuses();
}
