using System.Globalization;
using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;
using DistortSignals.Core.Risk;
using DistortSignals.Core.Validation;
using DistortSignals.Platform;
using DistortSignals.Platform.Actors;
using DistortSignals.Platform.Resources;
using DistortSignals.Platform.Security;
using DistortSignals.Risk.Accounts;
using DistortSignals.Risk.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace DistortSignals.Risk.Api;

/// <summary>
/// The risk role's operations: account state and decisions for readers; the breaker reset (idempotent per token),
/// the manual breaker trip and the kill switch for admins, each written to <c>risk.audit</c> with the key that asked.
/// </summary>
internal static class RiskEndpoints
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;
    public const int MaxTokenLength = 128;
    public const int MaxReasonLength = 500;

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        var reader = endpoints.MapGroup("/api/v1").RequireAuthorization(Scopes.Reader);
        reader.MapGet("/accounts", GetAccountsAsync);
        reader.MapGet("/accounts/{account}", GetAccountAsync);
        reader.MapGet("/decisions", GetDecisionsAsync);

        var admin = endpoints.MapGroup("/api/v1/accounts/{account}").RequireAuthorization(Scopes.Admin);
        admin.MapPost("/breaker/reset", ResetAsync);
        admin.MapPost("/breaker/trip", TripAsync);
        admin.MapPost("/trading", SetTradingAsync);
    }

    private static async Task<IResult> GetAccountsAsync(RiskStore store, CancellationToken cancellationToken)
    {
        var accounts = await store.AccountsAsync(null, cancellationToken);
        return Results.Json(new { accounts = accounts.Select(a => a.Snapshot).OfType<AccountStateSnapshot>() }, PlatformJson.Options);
    }

    private static async Task<IResult> GetAccountAsync(string account, RiskStore store, CancellationToken cancellationToken)
    {
        var found = await store.AccountsAsync(account, cancellationToken);
        return found is [{ Snapshot: { } snapshot }]
            ? Results.Json(snapshot, PlatformJson.Options)
            : Problems.NotFound($"account '{account}' is not configured in the risk role");
    }

    private static async Task<IResult> GetDecisionsAsync(string? account, string? verdict, string? limit, RiskStore store, CancellationToken cancellationToken)
    {
        if (verdict is not null && !Enum.TryParse<RiskVerdict>(verdict, ignoreCase: true, out _))
        {
            return Problems.BadRequest("verdict", $"'{verdict}' is not one of Allow, Reduce, Block");
        }

        var count = DefaultLimit;
        if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count is < 1 or > MaxLimit))
        {
            return Problems.BadRequest("limit", $"'{limit}' is not a whole number in 1..{MaxLimit}");
        }

        var normalized = verdict is null ? null : Enum.Parse<RiskVerdict>(verdict, ignoreCase: true).ToString();
        var decisions = await store.DecisionsAsync(string.IsNullOrEmpty(account) ? null : account, normalized, count, cancellationToken);
        return Results.Json(new { decisions }, PlatformJson.Options);
    }

    private static async Task<IResult> ResetAsync(string account, HttpRequest request, ClaimsPrincipal user, RiskStore store, IActorInvoker actors, CancellationToken cancellationToken)
    {
        var (body, problem) = await ReadObjectAsync(request, ["token", "reason"], "{\"token\": \"...\", \"reason\": \"...\"}", cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        if (Text(body!["token"]) is not { Length: > 0 and <= MaxTokenLength } token)
        {
            return Problems.BadRequest("token", $"is required: a string of 1..{MaxTokenLength} characters that names this reset (a repeat with it changes nothing)");
        }

        if (Text(body["reason"]) is not { Length: > 0 and <= MaxReasonLength } reason)
        {
            return Problems.BadRequest("reason", $"is required: a string of 1..{MaxReasonLength} characters saying why");
        }

        if (await Unknown(account, store, cancellationToken) is { } notFound)
        {
            return notFound;
        }

        var result = await actors.InvokeMethodAsync(AccountActor.ActorType, account, AccountActor.Reset,
            JsonSerializer.SerializeToElement(new ResetInput(token, reason, Requester(user)), PlatformJson.Options), cancellationToken);
        return Results.Json(result, PlatformJson.Options);
    }

    private static async Task<IResult> TripAsync(string account, HttpRequest request, ClaimsPrincipal user, RiskStore store, IActorInvoker actors, CancellationToken cancellationToken)
    {
        var (body, problem) = await ReadObjectAsync(request, ["reason"], "{\"reason\": \"...\"}", cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        if (Text(body!["reason"]) is not { Length: > 0 and <= MaxReasonLength } reason)
        {
            return Problems.BadRequest("reason", $"is required: a string of 1..{MaxReasonLength} characters saying why");
        }

        if (await Unknown(account, store, cancellationToken) is { } notFound)
        {
            return notFound;
        }

        var result = await actors.InvokeMethodAsync(AccountActor.ActorType, account, AccountActor.Trip,
            JsonSerializer.SerializeToElement(new TripInput(reason, Requester(user)), PlatformJson.Options), cancellationToken);
        return Results.Json(result, PlatformJson.Options);
    }

    private static async Task<IResult> SetTradingAsync(string account, HttpRequest request, ClaimsPrincipal user, RiskStore store, IActorInvoker actors, CancellationToken cancellationToken)
    {
        var (body, problem) = await ReadObjectAsync(request, ["enabled"], "{\"enabled\": true|false}", cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        if (body!["enabled"] is not JsonValue value || !value.TryGetValue<bool>(out var enabled))
        {
            return Problems.BadRequest("enabled", $"'{body["enabled"]?.ToJsonString()}' is not true or false");
        }

        if (await Unknown(account, store, cancellationToken) is { } notFound)
        {
            return notFound;
        }

        var result = await actors.InvokeMethodAsync(AccountActor.ActorType, account, AccountActor.Trading,
            JsonSerializer.SerializeToElement(new TradingInput(enabled, Requester(user)), PlatformJson.Options), cancellationToken);
        return Results.Json(result, PlatformJson.Options);
    }

    private static async Task<IResult?> Unknown(string account, RiskStore store, CancellationToken cancellationToken)
    {
        if (!ResourceName.IsValid(account, BrokerAccountResource.MaxNameLength))
        {
            return Problems.BadRequest("account", $"'{account}' is not a BrokerAccount name ({ResourceName.Rule(BrokerAccountResource.MaxNameLength)})");
        }

        return await store.ExistsAsync(account, cancellationToken) ? null : Problems.NotFound($"account '{account}' is not configured in the risk role");
    }

    private static Requester Requester(ClaimsPrincipal user) => new(user.GetApiKeyId(), user.Identity?.Name);

    private static string? Text(JsonNode? node) => node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    /// <summary>The body as a JSON object with only the <paramref name="fields"/>; otherwise a problem naming what is wrong.</summary>
    private static async Task<(JsonObject? Body, IResult? Problem)> ReadObjectAsync(HttpRequest request, string[] fields, string shape, CancellationToken cancellationToken)
    {
        JsonNode? body;
        try
        {
            body = await JsonNode.ParseAsync(request.Body, cancellationToken: cancellationToken);
        }
        catch (JsonException e)
        {
            return (null, Problems.BadRequest("body", $"is not JSON: {e.Message}"));
        }

        if (body is not JsonObject root)
        {
            return (null, Problems.BadRequest("body", $"must be a JSON object {shape}"));
        }

        foreach (var (name, _) in root)
        {
            if (!fields.Contains(name))
            {
                return (null, Problems.BadRequest(name, $"is not a field of this request ({string.Join(", ", fields)})"));
            }
        }

        return (root, null);
    }
}
