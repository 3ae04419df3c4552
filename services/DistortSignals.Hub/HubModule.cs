using DistortSignals.Hub.Core;
using DistortSignals.Hub.Web;
using DistortSignals.Platform.Hosting;
using DistortSignals.Platform.InProcess;
using DistortSignals.Platform.Messaging;
using DistortSignals.Platform.Postgres.Migrations;
using DistortSignals.Platform.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace DistortSignals.Hub;

/// <summary>The endpoints the hub maps, so the host can put conventions (authorization) on them.</summary>
public sealed record HubEndpoints(IEndpointConventionBuilder WebSocket, IEndpointConventionBuilder Dashboard);

/// <summary>
/// The <c>hub</c> role: subscribes to every topic and streams the events to WebSocket clients at
/// <c>/ws</c>, with the live dashboard at <c>/</c>. Its only table is the platform's record of handled
/// events; the replay buffer is in memory and the sequence numbers start again with the process.
/// </summary>
public sealed class HubModule : IModule
{
    public const string ConsumerName = "hub";

    public string Name => "hub";

    public void ConfigureServices(IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<HubOptions>()
            .Bind(configuration.GetSection(HubOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<HubMetrics>();
        services.AddSingleton(provider => new EventHub(
            provider.GetRequiredService<IOptions<HubOptions>>().Value,
            provider.GetRequiredService<HubMetrics>(),
            provider.GetService<TimeProvider>() ?? TimeProvider.System));
        services.AddSchemaMigrations(Name, [MessagingMigrations.HandledEvents(1)]);
        foreach (var topic in HubChannels.All)
        {
            services.AddSingleton(provider => Subscription(topic, provider.GetRequiredService<EventHub>()));
        }
    }

    public void MapEndpoints(IEndpointRouteBuilder endpoints) => MapHubEndpoints(endpoints);

    /// <summary>Maps <c>/ws</c> and the dashboard and returns them, for the host to protect.</summary>
    public static HubEndpoints MapHubEndpoints(IEndpointRouteBuilder endpoints)
    {
        // The WebSocket middleware goes on this endpoint's own pipeline, so the hub needs nothing from the host's.
        var webSocketPipeline = endpoints.CreateApplicationBuilder().UseWebSockets();
        webSocketPipeline.Run(HubWebSocketEndpoint.HandleAsync);
        var webSocket = endpoints.Map("/ws", webSocketPipeline.Build()).WithDisplayName("hub WebSocket").RequireAuthorization(Scopes.Reader);
        // The dashboard's files carry no data: they stay public, and the page asks for a key.
        var dashboard = DashboardEndpoints.Map(endpoints).AllowAnonymous();
        return new HubEndpoints(webSocket, dashboard);
    }

    /// <summary>
    /// The hub's subscription to one topic: every event goes to the hub under the topic's channel. The hub keeps
    /// events in memory only, so on the in-process platform it takes them at their commit (<c>OnCommit</c>), one
    /// dispatcher run sooner, and its queued deliveries, which then only bring what that missed, wait in the background.
    /// </summary>
    public static EventSubscription Subscription(string topic, EventHub hub) =>
        new(ConsumerName, ConsumerName, topic, (cloudEvent, _, _) =>
        {
            hub.Publish(topic, cloudEvent);
            return Task.FromResult(DeliveryOutcome.Success);
        }, Background: true, OnCommit: cloudEvent => hub.Publish(topic, cloudEvent));
}
