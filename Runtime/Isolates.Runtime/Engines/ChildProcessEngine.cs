using Isolates.Calls;
using Isolates.Diagnostics;
using Isolates.Processes;

namespace Isolates.Engines;

/// <summary>
/// The child-process placement: the isolate's code runs in a child process (see <see cref="IsolatePlacement"/>),
/// reached through a <see cref="ChildLink"/> (the process, the pipe, the calls waiting for answers).
/// </summary>
internal sealed partial class ChildProcessEngine : IsolateEngine
{
    // Exists before the isolate is listed: a close or kill that finds it through Isolate.All while the child starts
    // waits for the start, so the child is closed as soon as it runs. Its result is null when the start failed.
    private readonly TaskCompletionSource<ChildLink?> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ChildLink? _link;

    public ChildProcessEngine(Isolate owner)
        : base(owner)
    {
    }

    /// <summary>The child once it runs; null while it starts or when its start failed.</summary>
    public ChildLink? Link => Volatile.Read(ref _link);

    /// <inheritdoc />
    public override int QueueLength => Link?.PendingCount ?? 0;

    /// <inheritdoc />
    public override int? ProcessId => Link?.ProcessId;

    /// <inheritdoc />
    public override bool HasEnded => Link?.HasExited == true;

    /// <inheritdoc />
    public override bool SendsChunkItemsAsCalls => true;

    /// <inheritdoc />
    public override async ValueTask StartAsync(CancellationToken cancellationToken)
    {
        Isolate owner = Owner;
        ChildLink link;
        try
        {
            link = await ChildLink.StartAsync(owner, owner.Options, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            owner.EndUnstarted();
            _started.TrySetResult(null);
            throw;
        }

        Volatile.Write(ref _link, link);
        owner.TransitionTo(IsolateState.Running, from: [IsolateState.Starting]); // stays Closing if a close or kill came meanwhile
        owner.TryLog(static (logger, isolate, _) => Log.Started(logger, isolate.Name, isolate.Id));
        _ = link.Ended.ContinueWith(static (ended, s) => ((ChildProcessEngine)s!).Owner.OnProcessEnded(ended.Result), this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        _started.TrySetResult(link); // a close or kill waiting for the start goes on now
    }

    /// <inheritdoc />
    public override void Adopt(IsolateOptions options) => Link?.Adopt(options, Owner.Name); // before any call of the creator's: frames keep their order

    /// <inheritdoc />
    public override void Run(IChunk chunk) => chunk.SendTo(this);

    /// <inheritdoc />
    public override void Stop()
    {
        // Nothing waits in this process: the link fails the calls sent to the child when the child ends.
    }

    /// <inheritdoc />
    public override async Task CloseAsync()
    {
        // Through Isolate.All a close can come while the child starts: it is closed as soon as it runs.
        if ((Link ?? await _started.Task.ConfigureAwait(false)) is { } link)
        {
            Interleave.Point("child.close.started");
            await link.CloseAsync(Owner.Options.CloseTimeout, Owner.TimeProvider).ConfigureAwait(false);
            await Owner.StoppedTask.ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public override void EnsureKillable()
    {
        // a process can always be killed
    }

    /// <inheritdoc />
    public override async Task KillAsync()
    {
        // Through Isolate.All a kill can come while the child starts: it is killed as soon as it runs.
        if ((Link ?? await _started.Task.ConfigureAwait(false)) is not { } link)
        {
            return; // its start failed: nothing runs
        }

        await link.KillAsync().ConfigureAwait(false);
        await Owner.StoppedTask.ConfigureAwait(false);
    }

    /// <summary>The child once it runs, or null when its start failed.</summary>
    public Task<ChildLink?> StartedAsync() => _started.Task;
}
