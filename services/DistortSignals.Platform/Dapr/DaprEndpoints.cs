using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DistortSignals.Platform.Actors;
using DistortSignals.Platform.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DistortSignals.Platform.Dapr;

/// <summary>
/// What the sidecar calls on this app (dapr-http-api.md sections 1, 3 and 4): <c>GET /dapr/subscribe</c>,
/// the delivery routes, <c>GET /dapr/config</c> and the actor callbacks. They take no API key of ours; when
/// <c>APP_API_TOKEN</c> is set, the sidecar's <c>dapr-api-token</c> must match it. Every actor callback
/// answers exactly 200 on success, never 204 (pitfall 8).
/// </summary>
public static class DaprEndpoints
{
    private const string TokenHeader = "dapr-api-token";

    public static RouteGroupBuilder MapDaprPlatform(this IEndpointRouteBuilder endpoints)
    {
        if (string.IsNullOrEmpty(endpoints.ServiceProvider.GetRequiredService<IOptions<DaprPlatformOptions>>().Value.AppApiToken))
        {
            endpoints.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(DaprEndpoints)).LogWarning(
                "APP_API_TOKEN is not set: the Dapr endpoints (/dapr/*, /actors/*) accept calls from anyone who reaches this port");
        }

        // The sidecar is the only caller: it is checked by the app token, and its deliveries and actor calls must not
        // share the anonymous rate limit with probes on the same address (a throttled /dapr/config places no actors).
        var group = endpoints.MapGroup("").AllowAnonymous().DisableRateLimiting().AddEndpointFilter(CheckAppTokenAsync).WithTags("dapr");

        // Built on request from what the modules registered, so it is right on the first read after the port opens (pitfall 7).
        group.MapGet("/dapr/subscribe", (DaprDeliveries deliveries) => Results.Text(deliveries.SubscribeDocument().ToJsonString(), "application/json"));
        group.MapPost(DaprDeliveries.RoutePrefix + "{topic}", DeliverAsync);

        group.MapGet("/dapr/config", Config);
        group.MapPut("/actors/{actorType}/{actorId}/method/remind/{name}", ReminderAsync);
        group.MapPut("/actors/{actorType}/{actorId}/method/timer/{name}", TimerAsync);
        group.MapPut("/actors/{actorType}/{actorId}/method/{method}", MethodAsync);
        group.MapDelete("/actors/{actorType}/{actorId}", async (string actorType, string actorId, DaprActorRuntime runtime, DaprMetrics metrics) =>
        {
            await runtime.DeactivateAsync(actorType, actorId);
            metrics.ActorCalls.Add(1, new KeyValuePair<string, object?>("kind", "deactivate"), new KeyValuePair<string, object?>("outcome", "ok"));
            return Results.Ok();
        });
        return group;
    }

    private static async ValueTask<object?> CheckAppTokenAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var expected = context.HttpContext.RequestServices.GetRequiredService<IOptions<DaprPlatformOptions>>().Value.AppApiToken;
        if (expected is { Length: > 0 })
        {
            var given = context.HttpContext.Request.Headers[TokenHeader].ToString();
            if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(expected)))
            {
                return Problems.Status(StatusCodes.Status401Unauthorized, $"{TokenHeader}: missing or not the APP_API_TOKEN of this app");
            }
        }

        return await next(context);
    }

    /// <summary>
    /// The delivery of one CloudEvent: 200 with SUCCESS, RETRY or DROP; 404 (Dapr drops) for a topic nobody here
    /// subscribes. The body is read as the envelope, whatever the content type says, so it is never a 415 (pitfall 2).
    /// </summary>
    private static async Task<IResult> DeliverAsync(string topic, HttpRequest request, DaprDeliveries deliveries, CancellationToken cancellationToken)
    {
        var outcome = await deliveries.DeliverAsync(topic, request.Body, cancellationToken);
        return outcome is { } answered
            ? Results.Text(DaprDeliveries.Answer(answered).ToJsonString(), "application/json")
            : Problems.NotFound($"topic: nobody in this app subscribes to '{topic}'");
    }

    private static IResult Config(DaprActorRuntime runtime, IOptions<DaprPlatformOptions> options) =>
        Results.Text(new JsonObject
        {
            ["entities"] = new JsonArray([.. runtime.ActorTypes.Select(t => (JsonNode?)JsonValue.Create(t))]),
            ["actorIdleTimeout"] = DaprDuration.Format(options.Value.ActorIdleTimeout),
            ["drainOngoingCallTimeout"] = DaprDuration.Format(options.Value.DrainOngoingCallTimeout),
            ["drainRebalancedActors"] = true,
            ["reentrancy"] = new JsonObject { ["enabled"] = false },
        }.ToJsonString(), "application/json");

    private static async Task<IResult> MethodAsync(
        string actorType, string actorId, string method, HttpRequest request, DaprActorRuntime runtime, DaprMetrics metrics, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var argument = await ReadJsonAsync(request, cancellationToken);
        if (argument.Error is not null)
        {
            return argument.Error;
        }

        return await RunAsync("method", actorType, actorId, method, metrics, loggers, async () =>
        {
            var result = await runtime.OnMethodAsync(actorType, actorId, method, argument.Json, cancellationToken);
            return result is { } json ? Results.Text(json.GetRawText(), "application/json", statusCode: StatusCodes.Status200OK) : Results.Ok();
        });
    }

    /// <summary>Body <c>{"dueTime","period","data"}</c>; the period may be a Go duration, ISO 8601 or <c>@every</c> (pitfall 5).</summary>
    private static async Task<IResult> ReminderAsync(
        string actorType, string actorId, string name, HttpRequest request, DaprActorRuntime runtime, DaprMetrics metrics, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var body = await ReadJsonAsync(request, cancellationToken);
        if (body.Error is not null)
        {
            return body.Error;
        }

        var logger = loggers.CreateLogger(typeof(DaprEndpoints));
        var period = body.Json is { ValueKind: JsonValueKind.Object } fired && fired.TryGetProperty("period", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
        try
        {
            logger.LogDebug("Reminder {Name} of {ActorType}/{ActorId} fired; period {Period}", name, actorType, actorId, DaprDuration.ParsePeriod(period, out _));
        }
        catch (FormatException unknown)
        {
            // Tolerated: the schedule is the sidecar's business; the callback still runs.
            logger.LogWarning("Reminder {Name} of {ActorType}/{ActorId} came with a period we cannot read: {Error}", name, actorType, actorId, unknown.Message);
        }

        var data = Property(body.Json, "data");
        return await RunAsync("reminder", actorType, actorId, name, metrics, loggers, async () =>
        {
            await runtime.OnReminderAsync(actorType, actorId, name, data, cancellationToken);
            return Results.Ok();
        });
    }

    /// <summary>Body <c>{"callback","data","dueTime","period"}</c>: a timer runs the actor method named by <c>callback</c>, as the SDK does.</summary>
    private static async Task<IResult> TimerAsync(
        string actorType, string actorId, string name, HttpRequest request, DaprActorRuntime runtime, DaprMetrics metrics, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var body = await ReadJsonAsync(request, cancellationToken);
        if (body.Error is not null)
        {
            return body.Error;
        }

        if (Property(body.Json, "callback") is not { ValueKind: JsonValueKind.String } callback || callback.GetString() is not { Length: > 0 } method)
        {
            return Problems.BadRequest("callback", $"timer {name} names no callback method");
        }

        return await RunAsync("timer", actorType, actorId, name, metrics, loggers, async () =>
        {
            await runtime.OnMethodAsync(actorType, actorId, method, Property(body.Json, "data"), cancellationToken);
            return Results.Ok();
        });
    }

    private static async Task<IResult> RunAsync(
        string kind, string actorType, string actorId, string name, DaprMetrics metrics, ILoggerFactory loggers, Func<Task<IResult>> call)
    {
        var outcome = "ok";
        try
        {
            return await call();
        }
        catch (Exception notFound) when (notFound is ActorTypeNotHostedException or ActorMethodNotFoundException)
        {
            outcome = "not-found";
            return Problems.NotFound(notFound.Message);
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            // Any status but 200 and 404 reaches the caller as 500 ERR_ACTOR_INVOKE_METHOD; a failed reminder keeps its schedule.
            outcome = "error";
            loggers.CreateLogger(typeof(DaprEndpoints)).LogError(error, "Actor {Kind} {Name} of {ActorType}/{ActorId} failed", kind, name, actorType, actorId);
            return Problems.Status(StatusCodes.Status500InternalServerError, $"{kind} {name} of actor {actorType}/{actorId} failed: {error.Message}");
        }
        finally
        {
            metrics.ActorCalls.Add(1, new KeyValuePair<string, object?>("kind", kind), new KeyValuePair<string, object?>("outcome", outcome));
        }
    }

    private static JsonElement? Property(JsonElement? json, string name) =>
        json is { ValueKind: JsonValueKind.Object } body && body.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    private static async Task<(JsonElement? Json, IResult? Error)> ReadJsonAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync(cancellationToken);
        if (string.IsNullOrWhiteSpace(text))
        {
            return (null, null);
        }

        try
        {
            return (JsonSerializer.Deserialize<JsonElement>(text), null);
        }
        catch (JsonException invalid)
        {
            return (null, Problems.BadRequest("body", $"not JSON: {invalid.Message}"));
        }
    }
}
