namespace Isolates.Benchmarks.Peers;

/// <summary>
/// An in-process actor framework measured beside Isolates in the same run: the three things a user compares
/// (request-response, spawn to first reply, one-way streaming), each done the way the framework's docs show, with
/// its default dispatcher and mailbox. Messages are passed by reference: nothing is copied and nothing is isolated.
/// </summary>
internal interface IActorPeer : IAsyncDisposable
{
    /// <summary>The framework and version, as the report prints it.</summary>
    string Name { get; }

    /// <summary>The request-response call, as the report names it.</summary>
    string RequestName { get; }

    /// <summary>One request to a running echo actor, awaited until its reply arrives.</summary>
    Task<int> RequestAsync(int value);

    /// <summary>Spawns a new echo actor and awaits the reply to its first request (the actor stays for <see cref="StopSpawnedAsync"/>).</summary>
    Task<int> SpawnAndRequestAsync(int value);

    /// <summary>Stops the actor the last <see cref="SpawnAndRequestAsync"/> made (untimed).</summary>
    Task StopSpawnedAsync();

    /// <summary>
    /// A producer actor tells <paramref name="messages"/> ints (0, 1, ...) to a new counting actor; completes with
    /// their sum once the counting actor has processed the last one.
    /// </summary>
    Task<long> StreamAsync(int messages);
}
