using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using DistortSignals.Core.Risk;
using DistortSignals.Operator.Roles;
using DistortSignals.Platform;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace DistortSignals.Operator.Tests.Fakes;

/// <summary>
/// A Dapr sidecar with the roles behind it, over real HTTP, because neither runs here. It keeps Dapr's
/// service-invocation URL shape (/v1.0/invoke/{app-id}/method/{path}) and the account endpoints' contract from
/// notes/issue4-contracts.md: PUT config is idempotent, GET returns an AccountStateSnapshot (404 for an unknown
/// account), a breaker reset is idempotent per token and closes the breaker, POST trading sets the kill switch;
/// the admin key is checked on every call. GET /api/v1/strategies answers for any signals app id.
/// </summary>
public sealed class FakeRoles : IAsyncDisposable
{
    public const string AdminKey = "ds_test-admin-key";

    private WebApplication? app;

    public Uri Url { get; private set; } = null!;

    /// <summary>Every config push: (app id, account, body).</summary>
    public ConcurrentQueue<(string AppId, string Account, JsonObject Body)> Pushes { get; } = new();

    public ConcurrentQueue<(string Account, string Token, string Reason)> Resets { get; } = new();

    public ConcurrentQueue<(string Account, bool Enabled)> TradingCalls { get; } = new();

    public ConcurrentDictionary<string, AccountStateSnapshot> Accounts { get; } = new();

    public ConcurrentDictionary<string, StrategyActivity> Strategies { get; } = new();

    public static async Task<FakeRoles> StartAsync()
    {
        var roles = new FakeRoles();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.Map("/v1.0/invoke/{appId}/method/{**path}", roles.HandleAsync);
        await app.StartAsync();
        roles.app = app;
        roles.Url = new Uri(app.Urls.First());
        return roles;
    }

    /// <summary>The risk role trips the account's breaker.</summary>
    public void Trip(string account, BreakerKind kind, string message) =>
        Accounts.AddOrUpdate(account, _ => throw new InvalidOperationException($"unknown account {account}"), (_, s) => s with
        {
            Breaker = BreakerState.Open,
            BreakerReason = kind,
            BreakerMessage = message,
            BreakerSince = DateTimeOffset.UtcNow,
            DailyPnlPct = -3.2,
            Sequence = s.Sequence + 1,
        });

    public async ValueTask DisposeAsync()
    {
        if (app is not null)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private async Task<IResult> HandleAsync(HttpContext context, string appId, string path)
    {
        if (context.Request.Headers[DaprRoleClient.ApiKeyHeader] != AdminKey)
        {
            return Results.Unauthorized();
        }

        // JsonContent is sent chunked, without a Content-Length.
        var body = context.Request.Method is "PUT" or "POST" ? await JsonNode.ParseAsync(context.Request.Body) as JsonObject : null;
        var parts = path.Split('/');
        var method = context.Request.Method;
        if (path == "api/v1/strategies" && method == "GET")
        {
            var name = appId.StartsWith("signals-", StringComparison.Ordinal) ? appId["signals-".Length..] : appId;
            var list = Strategies.TryGetValue(name, out var a)
                ? new JsonArray(new JsonObject { ["name"] = name, ["lastSignal"] = a.LastSignal?.ToString("O"), ["signalsToday"] = a.SignalsToday })
                : [];
            return Results.Json(new JsonObject { ["strategies"] = list });
        }

        if (parts is not ["api", "v1", "accounts", var account, ..])
        {
            return Results.NotFound();
        }

        switch (parts[4..], method)
        {
            case (["config"], "PUT"):
                Pushes.Enqueue((appId, account, body!));
                if (appId == "distortsignals-risk")
                {
                    Accounts.TryAdd(account, new AccountStateSnapshot(
                        account, true, BreakerState.Closed, BreakerKind.None, null, null, null, 0, 0, 0, 0, null, 10_000, 10_000, 0, DateTimeOffset.UtcNow, true, 1));
                }

                return Results.NoContent();
            case ([], "GET"):
                return Accounts.TryGetValue(account, out var snapshot) ? Results.Json(snapshot, PlatformJson.Options) : Results.NotFound();
            case (["breaker", "reset"], "POST"):
                var token = body!["token"]!.GetValue<string>();
                Resets.Enqueue((account, token, body["reason"]?.GetValue<string>() ?? ""));
                Accounts.AddOrUpdate(account, _ => throw new InvalidOperationException(), (_, s) => s with
                {
                    Breaker = BreakerState.Closed,
                    BreakerReason = BreakerKind.None,
                    BreakerMessage = null,
                    LastResetToken = token,
                    Sequence = s.Sequence + 1,
                });
                return Results.NoContent();
            case (["trading"], "POST"):
                var enabled = body!["enabled"]!.GetValue<bool>();
                TradingCalls.Enqueue((account, enabled));
                Accounts.AddOrUpdate(account, _ => throw new InvalidOperationException(), (_, s) => s with { TradingEnabled = enabled, Sequence = s.Sequence + 1 });
                return Results.NoContent();
            default:
                return Results.NotFound();
        }
    }
}
