// supervisor.csx: a supervisor restarts a worker isolate each time it crashes, up to a limit.
// A crash is either a call that throws (IsolateExecutionException from CallAsync) or an exception that escapes
// isolate code outside any call, which faults the isolate (its Completion task faults). Jobs wait in a channel,
// so a restarted worker carries on with the next job; the job that crashed a worker is reported, not retried.
// Run: dotnet run --project tools/Isolates.Cli -- run Examples/scripts/supervisor.csx [jobs] [maxRestarts]
int jobCount = args.Length > 0 ? int.Parse(args[0]) : 12;
int maxRestarts = args.Length > 1 ? int.Parse(args[1]) : 5;

Channel<int> jobs = IsolateChannel.CreateUnbounded<int>();
for (int i = 1; i <= jobCount; i++)
{
    jobs.Writer.TryWrite(i);
}

jobs.Writer.Complete();

int restarts = 0, failed = 0;
while (true)
{
    Isolate worker = await Isolate.CreateAsync(new IsolateOptions { Name = $"worker-{restarts + 1}" });
    Task<int> run = worker.CallAsync(Jobs.RunAsync, jobs.Reader);
    try
    {
        // Whichever comes first: the call's result or error, or the isolate faulting outside the call.
        await Task.WhenAny(run, worker.Completion);
        if (worker.Completion.IsFaulted)
        {
            await worker.Completion;                // throws the fault as an IsolateExecutionException
        }

        await run;
        Console.WriteLine($"supervisor: '{worker.Name}' finished the queue");
        break;
    }
    catch (IsolateException ex) when (ex is IsolateExecutionException or IsolateClosedException)
    {
        // A call still running when its isolate faults fails with IsolateClosedException; the fault is inside it.
        IsolateExecutionException? cause = ex as IsolateExecutionException ?? ex.InnerException as IsolateExecutionException;
        Console.WriteLine($"supervisor: '{worker.Name}' crashed ({cause?.RemoteType}: {cause?.Message ?? ex.Message}); restarting");
        failed++;
        if (++restarts > maxRestarts)
        {
            Console.WriteLine($"supervisor: giving up after {maxRestarts} restarts");
            return 1;
        }
    }
    finally
    {
        await worker.CloseAsync();

        // Mark both tasks observed: whichever was not awaited above failed for the same reason, and an
        // unobserved failed task is reported by the runtime as a fault of the isolate whose code last saw it.
        _ = run.Exception;
        _ = worker.Completion.Exception;
    }
}

Console.WriteLine($"supervisor: {jobCount - failed} jobs done, {failed} failed, {restarts} restarts");
return 0;

public static class Jobs
{
    private static int s_done;                       // per isolate: a restarted worker starts from 0

    public static async Task<int> RunAsync(ChannelReader<int> jobs)
    {
        await foreach (int job in jobs.ReadAllAsync())
        {
            if (job % 5 == 0)
            {
                throw new InvalidDataException($"job {job} is malformed");          // fails this call
            }

            if (job % 7 == 0)
            {
                CrashInBackground(job);                                              // faults the isolate
                await Task.Delay(Timeout.Infinite, Isolate.Current!.ClosingToken);
            }

            s_done++;
            Console.WriteLine($"  {Isolate.Current!.Name}: job {job} done ({s_done} in this worker)");
        }

        return s_done;
    }

    // An async void method's exception escapes every call: the runtime faults the isolate with it.
    private static async void CrashInBackground(int job)
    {
        await Task.Yield();
        throw new InvalidOperationException($"job {job} corrupted the worker's state");
    }
}
