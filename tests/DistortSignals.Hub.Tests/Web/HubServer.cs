using System.Net.WebSockets;
using DistortSignals.Hub.Core;
using DistortSignals.Platform.Messaging;
using DistortSignals.Platform.Security;
using DistortSignals.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace DistortSignals.Hub.Tests.Web;

/// <summary>The hub module alone on Kestrel at a free loopback port, fed through its own subscriptions.</summary>
internal sealed class HubServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private HubServer(WebApplication app, Uri address, string readerKey)
    {
        _app = app;
        Address = address;
        ReaderKey = readerKey;
    }

    public Uri Address { get; }

    /// <summary>A key with the reader scope, which /ws requires.</summary>
    public string ReaderKey { get; }

    public EventHub Hub => _app.Services.GetRequiredService<EventHub>();

    public static async Task<HubServer> StartAsync(IDictionary<string, string?>? settings = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(settings ?? new Dictionary<string, string?>());
        // The hub as the host composes it: with its database (for its migrations) and the security layer.
        var connectionString = await TestPostgres.CreateDatabaseAsync();
        builder.Services.AddSingleton(_ => NpgsqlDataSource.Create(connectionString));
        builder.Services.AddPlatformSecurity(builder.Configuration);
        var module = new HubModule();
        module.ConfigureServices(builder.Services, builder.Configuration);
        var app = builder.Build();
        app.UsePlatformSecurity();
        SecurityEndpoints.Map(app);
        module.MapEndpoints(app);
        await app.StartAsync();
        var key = await app.Services.GetRequiredService<ApiKeyStore>().CreateAsync(Scopes.Reader, "hub tests");
        return new HubServer(app, new Uri(app.Urls.Single()), key.Secret);
    }

    /// <summary>
    /// Delivers an event as the platform would: through the hub's subscription to the topic, by its handler, or with
    /// <paramref name="atCommit"/> as the in-process platform gives it at the commit.
    /// </summary>
    public async Task PublishAsync(string topic, CloudEvent cloudEvent, bool atCommit = false)
    {
        var subscription = _app.Services.GetServices<EventSubscription>().Single(s => s.Topic == topic);
        if (atCommit)
        {
            subscription.OnCommit!(cloudEvent);
            return;
        }

        var outcome = await subscription.Handler(cloudEvent, null!, CancellationToken.None);
        Assert.Equal(DeliveryOutcome.Success, outcome);
    }

    public async Task<HubSocket> ConnectAsync(string query = "", bool withKey = true)
    {
        var socket = new ClientWebSocket();
        if (withKey)
        {
            socket.Options.SetRequestHeader("X-API-Key", ReaderKey);
        }

        var uri = new UriBuilder(Address) { Scheme = "ws", Path = "/ws", Query = query }.Uri;
        using var timeout = new CancellationTokenSource(HubSocket.Timeout);
        await socket.ConnectAsync(uri, timeout.Token);
        return new HubSocket(socket);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
