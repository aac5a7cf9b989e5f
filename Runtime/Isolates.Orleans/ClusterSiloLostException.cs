using System.Text;

namespace Isolates.Orleans;

/// <summary>
/// Thrown by a cluster map when silos left the cluster (or stopped their pool) while running some of its chunks: the
/// items in <see cref="LostItemIndexes"/> may or may not have run, and their results are unknown. With
/// <see cref="SiloLossBehavior.FailMap"/> (the default) the first such loss fails the map; with
/// <see cref="SiloLossBehavior.RerunElsewhere"/> only a loss that no remaining silo can take over does. The map returns
/// no results (an unordered map has yielded the results that finished before it throws).
/// </summary>
public sealed class ClusterSiloLostException : IsolateException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="poolName">The cluster pool's name.</param>
    /// <param name="silos">The silos that were lost.</param>
    /// <param name="lostItemIndexes">The indexes (in the map's input) of the items whose chunks were lost, ascending.</param>
    /// <param name="message">What happened and what to do.</param>
    public ClusterSiloLostException(string poolName, IReadOnlyList<string> silos, IReadOnlyList<long> lostItemIndexes, string message)
        : base(message)
    {
        ArgumentNullException.ThrowIfNull(silos);
        ArgumentNullException.ThrowIfNull(lostItemIndexes);
        PoolName = poolName ?? string.Empty;
        Silos = silos;
        LostItemIndexes = lostItemIndexes;
    }

    /// <summary>The cluster pool's name.</summary>
    public string PoolName { get; }

    /// <summary>The silos that left while running chunks of the map.</summary>
    public IReadOnlyList<string> Silos { get; }

    /// <summary>The input indexes of the items that were in flight on the lost silos, ascending.</summary>
    public IReadOnlyList<long> LostItemIndexes { get; }

    /// <summary>Writes indexes as ranges ("3-9, 14"), so a message stays short for large chunks.</summary>
    internal static string Ranges(IReadOnlyList<long> sorted)
    {
        var text = new StringBuilder();
        for (int i = 0; i < sorted.Count; i++)
        {
            int j = i;
            while (j + 1 < sorted.Count && sorted[j + 1] == sorted[j] + 1)
            {
                j++;
            }

            if (text.Length > 0)
            {
                text.Append(", ");
            }

            text.Append(sorted[i]);
            if (j > i)
            {
                text.Append('-').Append(sorted[j]);
            }

            i = j;
        }

        return text.ToString();
    }
}
