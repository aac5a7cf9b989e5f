namespace Isolates.Hosting.Registrations;

/// <summary>A configured host-owned channel; <paramref name="Create"/> makes it when the host is built.</summary>
internal sealed record ChannelRegistration(string Name, Type ElementType, Func<HostChannel> Create, int Capacity);
