using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Isolates.Channels;

/// <summary>
/// <c>ReadAllAsync</c> for the runtime's reader ends. The base implementation awaits with <c>ConfigureAwait(false)</c>,
/// so in an isolate every wait resumed on a thread-pool thread, which then posted the loop body back to the isolate:
/// two hand-offs per wake-up. Awaiting on the caller's context resumes straight on the isolate's thread (one
/// hand-off); on the host, with no context, it is the same thread-pool continuation as before.
/// </summary>
internal static class ReadAll
{
    public static async IAsyncEnumerable<T> Of<T>(ChannelReader<T> reader, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(true))
        {
            while (reader.TryRead(out T? item))
            {
                yield return item;
            }
        }
    }
}
