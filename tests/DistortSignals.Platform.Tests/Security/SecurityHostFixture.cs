namespace DistortSignals.Platform.Tests.Security;

/// <summary>One host with the default settings, shared by the tests of a class.</summary>
public sealed class SecurityHostFixture : IAsyncLifetime
{
    private SecurityTestHost? _host;

    public SecurityTestHost Host => _host ?? throw new InvalidOperationException("The host has not started.");

    public async Task InitializeAsync() => _host = await SecurityTestHost.StartAsync();

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }
}
