using System.Net;
using DistortSignals.Host.Run;
using DistortSignals.Platform.Resources;
using DistortSignals.Platform.Security;
using DistortSignals.Testing;
using DistortSignals.Testing.Dapr;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace DistortSignals.Host.Tests.Run;

/// <summary>
/// `distortsignals run --platform {inprocess|dapr}` with every built role, on real Kestrel, over its own
/// database, without the synthetic feed. On dapr a <see cref="FakeDaprSidecar"/> stands next to it and reads
/// the app's subscriptions and actor types once the port is open, as a pod's sidecar does. Flows that must
/// work on both platforms are theories over <see cref="Platforms"/>.
/// </summary>
internal sealed class HostOnPlatform : IAsyncDisposable
{
    private readonly WebApplication _app;

    private HostOnPlatform(WebApplication app, Uri address, string connectionString, FakeDaprSidecar? sidecar)
    {
        _app = app;
        Address = address;
        ConnectionString = connectionString;
        Sidecar = sidecar;
    }

    public static TheoryData<string> Platforms => [PlatformHost.InProcessPlatform, PlatformHost.DaprPlatform];

    public Uri Address { get; }

    public string ConnectionString { get; }

    /// <summary>The fake sidecar on dapr; null in-process.</summary>
    public FakeDaprSidecar? Sidecar { get; }

    public IServiceProvider Services => _app.Services;

    /// <param name="resources">The manifests folder; the examples when null.</param>
    /// <param name="settings">Configuration on top of the test defaults.</param>
    public static async Task<HostOnPlatform> StartAsync(string platform, string? resources = null, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var sidecar = platform == PlatformHost.DaprPlatform ? await FakeDaprSidecar.StartAsync() : null;
        var connectionString = await TestPostgres.CreateDatabaseAsync();
        var builder = PlatformHost.CreateBuilder(new Dictionary<string, string?>
        {
            ["Platform"] = platform,
            ["Urls"] = "http://127.0.0.1:0",
            ["Resources"] = resources ?? Path.Combine(SharedReference.RepositoryRoot(), "examples"),
            ["Postgres:ConnectionString"] = connectionString,
            ["Feed:Mode"] = "none",
            ["InProcess:PollInterval"] = "00:00:00.100",
            ["Dapr:HttpEndpoint"] = sidecar?.Url.ToString(),
            ["Dapr:OutboxPollInterval"] = "00:00:00.100",
            ["Dapr:SidecarPollInterval"] = "00:00:00.050",
        });
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        var hostSettings = builder.Configuration.Get<HostSettings>()!;
        var app = PlatformHost.Build(builder, hostSettings, PlatformHost.Modules(hostSettings), ResourceSet.LoadFolder(hostSettings.Resources), connectionString);
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        if (sidecar is not null)
        {
            await sidecar.ConnectAppAsync(address);
        }

        // Ready means the loaded accounts reached the risk role's actors too, which on Dapr follows the start. The
        // probe carries a key so that its polling does not use up the anonymous rate limit the tests then meet.
        using var probe = new HttpClient { BaseAddress = address };
        probe.DefaultRequestHeaders.Add(ApiKeyAuthenticationHandler.HeaderName, (await app.Services.GetRequiredService<ApiKeyStore>().CreateAsync(Scopes.Reader, "readiness probe")).Secret);
        await Eventually.UntilAsync($"the host on {platform} is ready", async () =>
        {
            using var ready = await probe.GetAsync(new Uri("/readyz", UriKind.Relative));
            return ready.StatusCode == HttpStatusCode.OK;
        });

        return new HostOnPlatform(app, address, connectionString, sidecar);
    }

    public async Task<HttpClient> ClientAsync(string scope)
    {
        var key = (await Services.GetRequiredService<ApiKeyStore>().CreateAsync(scope, "tests")).Secret;
        var client = new HttpClient { BaseAddress = Address };
        client.DefaultRequestHeaders.Add(ApiKeyAuthenticationHandler.HeaderName, key);
        return client;
    }

    public async Task<long> CountAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    public async ValueTask DisposeAsync()
    {
        Sidecar?.DisconnectApp();
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (Sidecar is not null)
        {
            await Sidecar.DisposeAsync();
        }
    }
}
