namespace WorkerService.Workers;

/// <summary>CPU-bound scoring run on the pool's isolates.</summary>
public static class Scoring
{
    /// <summary>A risk score for an order: deliberately a few hundred microseconds of arithmetic.</summary>
    public static double Score(Order order)
    {
        double score = (double)order.Amount / 100;
        ulong h = (ulong)order.Id * 0x9E3779B97F4A7C15UL ^ (ulong)order.Customer.GetHashCode(StringComparison.Ordinal);
        for (int i = 0; i < 20_000; i++)
        {
            h ^= h << 13;
            h ^= h >> 7;
            h ^= h << 17;
            score += (h & 0xFF) / 1e6;
        }

        return Math.Round(score * order.Items, 3);
    }
}
