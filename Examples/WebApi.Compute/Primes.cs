namespace WebApi.Compute;

/// <summary>CPU-bound work a request should not run on the web server's own threads.</summary>
public static class Primes
{
    /// <summary>How many primes are below <paramref name="limit"/> (a sieve: tens of milliseconds for a few million).</summary>
    public static int CountBelow(int limit)
    {
        if (limit < 3)
        {
            return 0;
        }

        var composite = new bool[limit];
        int count = 1; // 2
        for (long i = 3; i < limit; i += 2)
        {
            if (composite[i])
            {
                continue;
            }

            count++;
            for (long j = i * i; j < limit; j += 2 * i)
            {
                composite[j] = true;
            }
        }

        return count;
    }
}
