namespace Isolates.Hosting.Registrations;

/// <summary>A configured pool: its name and the options it is created with at host start.</summary>
internal sealed record PoolRegistration(string Name, IsolatePoolOptions Options);
