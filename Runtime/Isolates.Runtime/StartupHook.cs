using Isolates.Processes;

/// <summary>
/// The runtime's startup hook (named by <c>DOTNET_STARTUP_HOOKS</c>, which requires this exact name outside any
/// namespace): in a process started as a child-process isolate it runs the isolate and never returns to the app's
/// <c>Main</c>; anywhere else it returns at once.
/// </summary>
internal static class StartupHook
{
    public static void Initialize()
    {
        if (Environment.GetEnvironmentVariable(ChildLauncher.EndpointVariable) is { Length: > 0 } endpoint)
        {
            ChildServer.Run(endpoint);
        }
    }
}
