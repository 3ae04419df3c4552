using System.Net;
using System.Net.Http.Headers;
using System.Text;
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

/// <summary>`distortsignals run --platform dapr`: every built role next to a (fake) sidecar, as a pod runs it.</summary>
public sealed class DaprPlatformTests : IAsyncLifetime
{
    private FakeDaprSidecar _sidecar = null!;
    private WebApplication _app = null!;
    private string _connectionString = "";
    private Uri _address = null!;

    public async Task InitializeAsync()
    {
        _sidecar = await FakeDaprSidecar.StartAsync();
        _connectionString = await TestPostgres.CreateDatabaseAsync();
        var builder = PlatformHost.CreateBuilder(new Dictionary<string, string?>
        {
            ["Platform"] = "dapr",
            ["Urls"] = "http://127.0.0.1:0",
            ["Resources"] = Path.Combine(SharedReference.RepositoryRoot(), "examples"),
            ["Postgres:ConnectionString"] = _connectionString,
            ["Feed:Mode"] = "none",
            ["Dapr:HttpEndpoint"] = _sidecar.Url.ToString(),
            ["Dapr:OutboxPollInterval"] = "00:00:00.100",
            ["Dapr:SidecarPollInterval"] = "00:00:00.050",
        });
        var settings = builder.Configuration.Get<HostSettings>()!;
        _app = PlatformHost.Build(builder, settings, PlatformHost.Modules(settings), ResourceSet.LoadFolder(settings.Resources), _connectionString);
        await _app.StartAsync();
        _address = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        await _sidecar.ConnectAppAsync(_address);
    }

    public async Task DisposeAsync()
    {
        _sidecar.DisconnectApp();
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _sidecar.DisposeAsync();
    }

    [Fact]
    public void The_sidecar_reads_the_modules_subscriptions_without_an_api_key()
    {
        Assert.Equal(1, _sidecar.SubscribeReads);
        Assert.Contains(_sidecar.Subscriptions, s => (string?)s["topic"] == "bars" && (string?)s["route"] == "/dapr/events/bars");
        Assert.Contains(_sidecar.Subscriptions, s => (string?)s["topic"] == "signals");
    }

    [Fact]
    public async Task Readiness_includes_the_sidecar()
    {
        using var client = new HttpClient { BaseAddress = _address };
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);

        _sidecar.OutboundReady = false;
        using var notReady = await client.GetAsync(new Uri("/readyz", UriKind.Relative));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        Assert.Contains("Dapr sidecar", await notReady.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_closed_bar_goes_from_ingest_through_the_sidecar_to_the_signals_role()
    {
        var key = (await _app.Services.GetRequiredService<ApiKeyStore>().CreateAsync(Scopes.Ingest, "tests")).Secret;
        using var client = new HttpClient { BaseAddress = _address };
        client.DefaultRequestHeaders.Add(ApiKeyAuthenticationHandler.HeaderName, key);
        var ticks = """
            [{"symbol":"EURUSD","time":"2026-02-05T12:00:10Z","bid":1.15,"ask":1.1502,"volume":1},
             {"symbol":"EURUSD","time":"2026-02-05T12:01:10Z","bid":1.16,"ask":1.1602,"volume":1}]
            """;

        using var response = await client.PostAsync(new Uri("/api/v1/ticks", UriKind.Relative), new StringContent(ticks, Encoding.UTF8, new MediaTypeHeaderValue("application/json")));

        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        await Eventually.UntilAsync("the closed bar was published through the sidecar", () =>
            _sidecar.Published.Any(p => p.Topic == "bars" && p.PartitionKey == "EURUSD" && (string?)p.Envelope["type"] == "io.distortsignals.bar.closed.v1"));
        await Eventually.UntilAsync("the signals role handled it", async () =>
        {
            await using var connection = new NpgsqlConnection(_connectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT count(*) FROM signals.handled_events WHERE topic = 'bars'", connection);
            return (long)(await command.ExecuteScalarAsync())! > 0;
        });
    }
}
