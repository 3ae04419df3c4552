using DistortSignals.Core.Accounts;

namespace DistortSignals.Gateway.Tests;

/// <summary>One gateway host per test class: accounts "alpha" and "beta" (MT5) on a fresh database.</summary>
public sealed class GatewayFixture : IAsyncLifetime
{
    internal GatewayTestHost Host { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Host = await GatewayTestHost.StartAsync([("alpha", BrokerKind.MT5), ("beta", BrokerKind.MT5)], new Dictionary<string, string?> { ["Gateway:ClaimLease"] = "00:05:00" });

    public async Task DisposeAsync() => await Host.DisposeAsync();
}
