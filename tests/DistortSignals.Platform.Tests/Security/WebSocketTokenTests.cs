using System.Net.Http.Json;
using System.Text.Json;
using DistortSignals.Platform.Security;

namespace DistortSignals.Platform.Tests.Security;

public sealed class WebSocketTokenTests(SecurityHostFixture fixture) : IClassFixture<SecurityHostFixture>
{
    private SecurityTestHost Host => fixture.Host;

    [Fact]
    public async Task A_token_opens_the_websocket_as_the_key_that_asked_for_it()
    {
        var created = await Host.Keys.CreateAsync(Scopes.Reader, "browser");

        var (token, expiresAt) = await IssueAsync(created.Secret);

        Assert.Equal(Host.Clock.GetUtcNow().AddSeconds(60).ToUnixTimeSeconds(), expiresAt.ToUnixTimeSeconds());
        Assert.Equal($"{created.KeyId} reader", await Host.OpenWebSocketAsync(token));
    }

    [Fact]
    public async Task Issuing_a_token_needs_a_key()
    {
        var response = await Host.SendAsync(HttpMethod.Post, SecurityEndpoints.WebSocketTokensPath, key: null);

        await ProblemAssert.IsProblemAsync(response, 401, "needs an API key");
    }

    [Fact]
    public async Task A_token_is_good_for_one_connection()
    {
        var (token, _) = await IssueAsync(await Host.CreateKeyAsync(Scopes.Reader));
        await Host.OpenWebSocketAsync(token);

        var response = await UpgradeAsync("/ws?token=" + Uri.EscapeDataString(token));

        await ProblemAssert.IsProblemAsync(response, 401, "The WebSocket token was already used");
    }

    [Fact]
    public async Task An_expired_token_is_refused()
    {
        var (token, _) = await IssueAsync(await Host.CreateKeyAsync(Scopes.Reader));
        Host.Clock.Advance(TimeSpan.FromSeconds(61));

        var response = await UpgradeAsync("/ws?token=" + Uri.EscapeDataString(token));

        await ProblemAssert.IsProblemAsync(response, 401, "The WebSocket token expired at");
    }

    [Fact]
    public async Task A_tampered_token_is_refused()
    {
        var (token, _) = await IssueAsync(await Host.CreateKeyAsync(Scopes.Reader));
        var payload = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(System.Buffers.Text.Base64Url.DecodeFromChars(token.Split('.')[0]))!;
        payload["Scope"] = JsonSerializer.SerializeToElement(Scopes.Admin);
        var forged = System.Buffers.Text.Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(payload)) + "." + token.Split('.')[1];

        await ProblemAssert.IsProblemAsync(await UpgradeAsync("/ws?token=" + Uri.EscapeDataString(forged)), 401, "signature does not match");
        await ProblemAssert.IsProblemAsync(await UpgradeAsync("/ws?token=not-a-token"), 401, "The WebSocket token is malformed.");
    }

    [Fact]
    public async Task A_token_is_only_accepted_on_a_websocket_upgrade_of_ws()
    {
        var (token, _) = await IssueAsync(await Host.CreateKeyAsync(Scopes.Admin));

        var elsewhere = await Host.GetAsync("/api/v1/signals?token=" + Uri.EscapeDataString(token), key: null);
        var plainGet = await Host.GetAsync("/ws?token=" + Uri.EscapeDataString(token), key: null);

        await ProblemAssert.IsProblemAsync(elsewhere, 401, "needs an API key");
        await ProblemAssert.IsProblemAsync(plainGet, 401, "needs an API key");
        Assert.EndsWith(" admin", await Host.OpenWebSocketAsync(token), StringComparison.Ordinal);
    }

    private async Task<(string Token, DateTimeOffset ExpiresAt)> IssueAsync(string key)
    {
        var response = await Host.SendAsync(HttpMethod.Post, SecurityEndpoints.WebSocketTokensPath, key);
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (body.GetProperty("token").GetString()!, body.GetProperty("expiresAt").GetDateTimeOffset());
    }

    // What a browser's WebSocket handshake looks like on the wire, sent by HttpClient to see the refusal.
    private Task<HttpResponseMessage> UpgradeAsync(string pathAndQuery)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, pathAndQuery);
        request.Headers.Connection.Add("Upgrade");
        request.Headers.Upgrade.Add(new System.Net.Http.Headers.ProductHeaderValue("websocket"));
        request.Headers.Add("Sec-WebSocket-Version", "13");
        request.Headers.Add("Sec-WebSocket-Key", Convert.ToBase64String(Guid.NewGuid().ToByteArray()));
        return Host.Client.SendAsync(request);
    }
}
