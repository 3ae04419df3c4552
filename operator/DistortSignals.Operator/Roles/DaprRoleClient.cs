using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using DistortSignals.Core.Accounts;
using DistortSignals.Core.Risk;
using DistortSignals.Platform;
using DistortSignals.Platform.Resources;

namespace DistortSignals.Operator.Roles;

/// <summary>
/// <see cref="IRoleClient"/> over Dapr service invocation:
/// <c>{sidecar}/v1.0/invoke/{appId}/method/{path}</c>, with the admin key in X-API-Key. The sidecar's
/// resiliency policy retries; this client adds only a timeout per call.
/// </summary>
public sealed class DaprRoleClient(HttpClient http, Uri sidecar, string? adminKey) : IRoleClient
{
    public const string ApiKeyHeader = "X-API-Key";
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The sidecar on 127.0.0.1 at DAPR_HTTP_PORT (3500 by default).</summary>
    public static Uri DefaultSidecar()
    {
        var port = Environment.GetEnvironmentVariable("DAPR_HTTP_PORT");
        return new Uri($"http://127.0.0.1:{(string.IsNullOrEmpty(port) ? "3500" : port)}");
    }

    public Task PushAccountConfigAsync(string appId, string account, BrokerAccountSpec spec, string eaKeySha256, CancellationToken cancellationToken)
    {
        var body = new JsonObject
        {
            ["spec"] = JsonSerializer.SerializeToNode(spec, ResourceJson.Options),
            ["eaKeySha256"] = eaKeySha256,
        };
        return SendAsync(HttpMethod.Put, appId, $"api/v1/accounts/{Uri.EscapeDataString(account)}/config", body, cancellationToken);
    }

    public async Task<AccountStateSnapshot?> GetAccountAsync(string appId, string account, CancellationToken cancellationToken)
    {
        var node = await SendAsync(HttpMethod.Get, appId, $"api/v1/accounts/{Uri.EscapeDataString(account)}", null, cancellationToken);
        return node?.Deserialize<AccountStateSnapshot>(PlatformJson.Options);
    }

    public Task ResetBreakerAsync(string appId, string account, string token, string reason, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, appId, $"api/v1/accounts/{Uri.EscapeDataString(account)}/breaker/reset", new JsonObject { ["token"] = token, ["reason"] = reason }, cancellationToken);

    public Task SetTradingAsync(string appId, string account, bool enabled, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, appId, $"api/v1/accounts/{Uri.EscapeDataString(account)}/trading", new JsonObject { ["enabled"] = enabled }, cancellationToken);

    public async Task<StrategyActivity?> GetStrategyAsync(string appId, string strategy, CancellationToken cancellationToken)
    {
        var node = await SendAsync(HttpMethod.Get, appId, "api/v1/strategies", null, cancellationToken);
        var entry = (node?["strategies"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(s => s["name"]?.GetValue<string>() == strategy);
        if (entry is null)
        {
            return null;
        }

        var last = entry["lastSignal"]?.GetValue<DateTimeOffset>();
        return new StrategyActivity(last, entry["signalsToday"]?.GetValue<long>() ?? 0);
    }

    private async Task<JsonNode?> SendAsync(HttpMethod method, string appId, string path, JsonNode? body, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CallTimeout);
        using var request = new HttpRequestMessage(method, new Uri(sidecar, $"v1.0/invoke/{Uri.EscapeDataString(appId)}/method/{path}"));
        if (adminKey is not null)
        {
            request.Headers.Add(ApiKeyHeader, adminKey);
        }

        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        try
        {
            using var response = await http.SendAsync(request, timeout.Token);
            if (method == HttpMethod.Get && response.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }

            var text = await response.Content.ReadAsStringAsync(timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                throw new RoleCallException($"{method} {appId}/{path}: {(int)response.StatusCode} {text}");
            }

            return text.Length == 0 ? null : JsonNode.Parse(text);
        }
        catch (Exception e) when (e is HttpRequestException or JsonException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new RoleCallException($"{method} {appId}/{path}: {e.Message}", e);
        }
    }
}
