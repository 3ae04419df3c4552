using System.Net.WebSockets;
using DistortSignals.Hub.Core;
using DistortSignals.Platform.Messaging;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DistortSignals.Hub.Tests.Web;

/// <summary>The hub module alone on Kestrel at a free loopback port, fed through its own subscriptions.</summary>
internal sealed class HubServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private HubServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    public EventHub Hub => _app.Services.GetRequiredService<EventHub>();

    public static async Task<HubServer> StartAsync(IDictionary<string, string?>? settings = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(settings ?? new Dictionary<string, string?>());
        var module = new HubModule();
        module.ConfigureServices(builder.Services, builder.Configuration);
        var app = builder.Build();
        module.MapEndpoints(app);
        await app.StartAsync();
        return new HubServer(app, new Uri(app.Urls.Single()));
    }

    /// <summary>Delivers an event as the platform would: through the hub's subscription to the topic.</summary>
    public async Task PublishAsync(string topic, CloudEvent cloudEvent)
    {
        var subscription = _app.Services.GetServices<EventSubscription>().Single(s => s.Topic == topic);
        var outcome = await subscription.Handler(cloudEvent, null!, CancellationToken.None);
        Assert.Equal(DeliveryOutcome.Success, outcome);
    }

    public async Task<HubSocket> ConnectAsync(string query = "")
    {
        var socket = new ClientWebSocket();
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
