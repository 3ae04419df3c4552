using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace DistortSignals.Host.Tests.Run;

/// <summary>
/// The test acting as an account's MT5 EA over the EA API (/ea/v1, docs/gateway.md): it polls, claims and reports
/// at prices it chooses, keeps the positions its fills open as a terminal would, and heartbeats them with the figures
/// it is told. Every answer other than the contract's is a failure.
/// </summary>
internal sealed class TestEa(RunningPlatform platform, string key, string terminalId) : IDisposable
{
    private readonly HttpClient _client = platform.Client(key);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly List<Position> _positions = [];
    private long _ticket = 1000;

    /// <summary>The account's pending, unexpired directives, oldest first.</summary>
    public async Task<JsonElement[]> PollAsync() =>
        [.. (await SendAsync(HttpMethod.Get, "/ea/v1/directives?wait=0", null)).GetProperty("directives").EnumerateArray()];

    /// <summary>Claims the directive and reports it filled, whole, at <paramref name="price"/>; answers the directive's state.</summary>
    public async Task<string> FillAsync(JsonElement directive, double price)
    {
        var id = directive.GetProperty("id").GetString()!;
        await SendAsync(HttpMethod.Post, $"/ea/v1/directives/{id}/claim", $$"""{"terminalId":"{{terminalId}}"}""");
        var (symbol, side, volume) = (directive.GetProperty("symbol").GetString()!, directive.GetProperty("side").GetString()!, directive.GetProperty("volume").GetDouble());
        var report = string.Create(CultureInfo.InvariantCulture,
            $$"""{"reportId":"{{terminalId}}-{{id}}","outcome":"filled","ticket":{{++_ticket}},"filledVolume":{{volume}},"price":{{price}},"retcode":10009,"message":"done","executedAt":"{{DateTimeOffset.UtcNow:O}}"}""");
        if (directive.GetProperty("action").GetString() == "OPEN")
        {
            _positions.Add(new Position(_ticket, symbol, side.ToLowerInvariant(), volume, price, 0, directive.GetProperty("magic").GetInt64(), directive.GetProperty("comment").GetString()!));
        }
        else
        {
            // A close takes the symbol's positions of the other side, as the EA does.
            _positions.RemoveAll(p => p.Symbol == symbol && p.Side != side.ToLowerInvariant());
        }

        return (await SendAsync(HttpMethod.Post, $"/ea/v1/directives/{id}/report", report)).GetProperty("state").GetString()!;
    }

    /// <summary>Sends the terminal's figures and the positions its fills opened; answers what the gateway says about trading.</summary>
    public Task<JsonElement> HeartbeatAsync(double equity, double balance) =>
        SendAsync(HttpMethod.Post, "/ea/v1/heartbeat", JsonSerializer.Serialize(
            new { terminalId, equity, balance, margin = 0, freeMargin = equity, positions = _positions, serverTime = DateTimeOffset.UtcNow }, Json));

    public void Dispose() => _client.Dispose();

    private async Task<JsonElement> SendAsync(HttpMethod method, string path, string? body)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using var response = await _client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{method} {path} answered {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>An open position as the EA lists it in a heartbeat.</summary>
    private sealed record Position(long Ticket, string Symbol, string Side, double Volume, double OpenPrice, double Profit, long Magic, string Comment);
}
