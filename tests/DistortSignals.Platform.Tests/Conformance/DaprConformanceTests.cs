using DistortSignals.Platform.Tests.Dapr;
using DistortSignals.Testing;
using DistortSignals.Testing.Dapr;
using Microsoft.Extensions.DependencyInjection;

namespace DistortSignals.Platform.Tests.Conformance;

/// <summary>
/// The conformance suite on the Dapr platform: the app on Kestrel, the fake sidecar in front of it, the module's
/// own tables in the real test PostgreSQL. The sidecar delivers every acknowledged message a second time, so
/// every test also shows that at-least-once delivery has one effect. A restart restarts the app; the sidecar
/// (and what it keeps: state, reminders, unacknowledged messages) stays, as the Scheduler and the broker do.
/// </summary>
public sealed class DaprConformanceTests : PlatformConformanceTests
{
    private protected override async Task<IPlatformUnderTest> StartAsync(Action<IServiceCollection> configure)
    {
        var connectionString = await TestPostgres.CreateDatabaseAsync();
        var sidecar = await FakeDaprSidecar.StartAsync(new FakeDaprSidecarOptions { RedeliverAcknowledged = true, DeliveryAttempts = 4 });
        return new Running(sidecar, configure, connectionString, await DaprTestApp.StartAsync(sidecar, connectionString, configure));
    }

    private sealed class Running(FakeDaprSidecar sidecar, Action<IServiceCollection> configure, string connectionString, DaprTestApp app) : IPlatformUnderTest
    {
        private DaprTestApp _app = app;

        public IServiceProvider Services => _app.Services;

        public async Task RestartAsync()
        {
            await _app.DisposeAsync();
            _app = await DaprTestApp.StartAsync(sidecar, connectionString, configure);
        }

        public async ValueTask DisposeAsync()
        {
            await _app.DisposeAsync();
            await sidecar.DisposeAsync();
        }
    }
}
