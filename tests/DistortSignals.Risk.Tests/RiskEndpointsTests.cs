using System.Net;
using System.Text;
using System.Text.Json;
using DistortSignals.Core.Risk;
using DistortSignals.Platform;
using DistortSignals.Platform.Messaging;
using static DistortSignals.Risk.Tests.RiskTestHost;

namespace DistortSignals.Risk.Tests;

/// <summary>The operations endpoints: what they answer, and problem+json for every bad input, changing nothing.</summary>
public sealed class RiskEndpointsTests : IAsyncLifetime
{
    private RiskTestHost _host = null!;
    private HttpClient _admin = null!;
    private HttpClient _reader = null!;

    public async Task InitializeAsync()
    {
        _host = await StartAsync();
        await _host.ConfigureAsync(Spec());
        _admin = await _host.ClientWithKeyAsync("admin", "ops");
        _reader = await _host.ClientWithKeyAsync("reader", "dashboard");
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Readers_see_the_accounts_one_account_and_the_decisions()
    {
        await _host.DeliverAsync(Topics.Signals, SignalGenerated(Signal("sig-a")));

        using var accounts = JsonDocument.Parse(await _reader.GetStringAsync("/api/v1/accounts"));
        var account = JsonSerializer.Deserialize<AccountStateSnapshot>(await _reader.GetStringAsync($"/api/v1/accounts/{Account}"), PlatformJson.Options)!;
        using var decisions = JsonDocument.Parse(await _reader.GetStringAsync($"/api/v1/decisions?account={Account}&verdict=allow&limit=10"));
        using var blocked = JsonDocument.Parse(await _reader.GetStringAsync("/api/v1/decisions?verdict=Block"));

        Assert.Equal(Account, accounts.RootElement.GetProperty("accounts")[0].GetProperty("account").GetString());
        Assert.Equal((Account, true, BreakerState.Closed, 10_000.0), (account.Account, account.TradingEnabled, account.Breaker, account.Equity));
        Assert.Equal("sig-a", decisions.RootElement.GetProperty("decisions")[0].GetProperty("signalId").GetString());
        Assert.Equal(0, blocked.RootElement.GetProperty("decisions").GetArrayLength());
    }

    [Theory]
    [InlineData("/api/v1/decisions?limit=0", "limit")]
    [InlineData("/api/v1/decisions?limit=abc", "limit")]
    [InlineData("/api/v1/decisions?verdict=Maybe", "verdict")]
    public async Task Bad_queries_are_400_naming_the_field(string path, string field)
    {
        var response = await _reader.GetAsync(path);

        await AssertProblemAsync(response, HttpStatusCode.BadRequest, field);
    }

    [Theory]
    [InlineData("breaker/reset", "not json", "body")]
    [InlineData("breaker/reset", "[1]", "body")]
    [InlineData("breaker/reset", "{\"reason\":\"x\"}", "token")]
    [InlineData("breaker/reset", "{\"token\":\"\",\"reason\":\"x\"}", "token")]
    [InlineData("breaker/reset", "{\"token\":7,\"reason\":\"x\"}", "token")]
    [InlineData("breaker/reset", "{\"token\":\"t\"}", "reason")]
    [InlineData("breaker/reset", "{\"token\":\"t\",\"reason\":\"x\",\"force\":true}", "force")]
    [InlineData("breaker/trip", "{}", "reason")]
    [InlineData("breaker/trip", "{\"reason\":\"\"}", "reason")]
    [InlineData("breaker/trip", "{\"reason\":\"x\",\"until\":\"later\"}", "until")]
    [InlineData("trading", "{}", "enabled")]
    [InlineData("trading", "{\"enabled\":\"yes\"}", "enabled")]
    [InlineData("trading", "{\"enabled\":false,\"who\":\"me\"}", "who")]
    public async Task Bad_bodies_are_400_naming_the_field_and_change_nothing(string action, string body, string field)
    {
        var response = await _admin.PostAsync($"/api/v1/accounts/{Account}/{action}", new StringContent(body, Encoding.UTF8, "application/json"));

        await AssertProblemAsync(response, HttpStatusCode.BadRequest, field);
        Assert.Equal(0, await _host.CountAsync("SELECT count(*) FROM risk.audit"));
        Assert.True((await _host.StateAsync()).TradingEnabled);
    }

    [Theory]
    [InlineData("GET", "/api/v1/accounts/nobody")]
    [InlineData("POST", "/api/v1/accounts/nobody/trading")]
    [InlineData("POST", "/api/v1/accounts/nobody/breaker/reset")]
    public async Task An_unknown_account_is_404(string method, string path)
    {
        var body = path.EndsWith("trading", StringComparison.Ordinal) ? "{\"enabled\":false}" : "{\"token\":\"t\",\"reason\":\"r\"}";
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST")
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        await AssertProblemAsync(await _admin.SendAsync(request), HttpStatusCode.NotFound, "nobody");
    }

    [Fact]
    public async Task A_manual_trip_opens_the_breaker_above_all_others_until_a_reset_and_is_audited()
    {
        var tripped = await _admin.PostAsync($"/api/v1/accounts/{Account}/breaker/trip", Json(new { reason = "broker maintenance" }));
        var again = await _admin.PostAsync($"/api/v1/accounts/{Account}/breaker/trip", Json(new { reason = "still maintenance" }));

        Assert.Equal(HttpStatusCode.OK, tripped.StatusCode);
        var open = await _host.StateAsync();
        Assert.Equal((BreakerState.Open, BreakerKind.Manual, "manual: broker maintenance"), (open.Breaker, open.BreakerReason, open.BreakerMessage));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Single(await _host.BreakerChangesAsync(), b => b.State == BreakerState.Open && b.Breaker == BreakerKind.Manual);
        Assert.Equal(2, await _host.CountAsync("SELECT count(*) FROM risk.audit WHERE action = 'breaker-trip'"));

        await _host.DeliverAsync(Topics.Signals, SignalGenerated(Signal("sig-while-tripped")));
        Assert.Equal(RiskVerdict.Block, (await _host.DecisionsAsync()).Single(d => d.SignalId == "sig-while-tripped").Verdict);

        var reset = await _admin.PostAsync($"/api/v1/accounts/{Account}/breaker/reset", Json(new { token = "after-maintenance", reason = "done" }));
        Assert.Equal(HttpStatusCode.OK, reset.StatusCode);
        Assert.Equal(BreakerState.Closed, (await _host.StateAsync()).Breaker);
    }

    [Fact]
    public async Task Operations_need_an_admin_key()
    {
        var asReader = await _reader.PostAsync($"/api/v1/accounts/{Account}/trading", Json(new { enabled = false }));
        var anonymous = await _host.Client.GetAsync("/api/v1/accounts");

        Assert.Equal(HttpStatusCode.Forbidden, asReader.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.True((await _host.StateAsync()).TradingEnabled);
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string mention)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(mention, await response.Content.ReadAsStringAsync());
    }
}
