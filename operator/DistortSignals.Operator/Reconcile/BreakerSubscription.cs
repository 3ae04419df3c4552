using System.Text.Json;
using DistortSignals.Operator.Kube;
using DistortSignals.Platform.Messaging;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace DistortSignals.Operator.Reconcile;

/// <summary>
/// The operator's Dapr subscription to the accounts topic: a breaker.changed event reconciles the named
/// BrokerAccount at once instead of at the next resync. Dapr delivers each event to one replica; on a
/// replica that is not leading the event is acknowledged and dropped, and the leader's 30 s resync catches up.
/// </summary>
public static class BreakerSubscription
{
    public const string Route = "/events/accounts";

    public static void Map(IEndpointRouteBuilder endpoints, Func<OperatorRuntime?> runtime)
    {
        endpoints.MapGet("/dapr/subscribe", () => Results.Json(new[]
        {
            new { pubsubname = Topics.PubSubName, topic = Topics.Accounts, route = Route },
        }));
        endpoints.MapPost(Route, async (HttpRequest request, CancellationToken cancellationToken) =>
        {
            CloudEvent? cloudEvent;
            try
            {
                cloudEvent = await JsonSerializer.DeserializeAsync<CloudEvent>(request.Body, Platform.PlatformJson.Options, cancellationToken);
            }
            catch (JsonException e)
            {
                // DROP: a malformed event will not improve with retries.
                return Results.Json(new { status = "DROP", message = e.Message });
            }

            if (cloudEvent?.Type == CloudEvent.TypeName(Topics.Events.BreakerChanged))
            {
                runtime()?.Nudge(ResourceKind.BrokerAccounts, cloudEvent.Subject);
            }

            return Results.Json(new { status = "SUCCESS" });
        });
    }
}
