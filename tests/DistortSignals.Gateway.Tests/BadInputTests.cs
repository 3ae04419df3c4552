using System.Net;
using System.Text;
using DistortSignals.Core.Accounts;
using DistortSignals.Core.Execution;
using DistortSignals.Gateway.Api;
using DistortSignals.Platform.Security;

namespace DistortSignals.Gateway.Tests;

/// <summary>Every bad request is a problem+json with the right status, and nothing changes state.</summary>
public sealed class BadInputTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private GatewayTestHost Host => fixture.Host;

    public static TheoryData<string, string, string, HttpStatusCode> BadRequests => new()
    {
        // path (with {id} for a claimed directive of alpha), body, field named in the answer, status
        { "claim", "{not json", "body", HttpStatusCode.BadRequest },
        { "claim", "", "body", HttpStatusCode.BadRequest },
        { "claim", "null", "body", HttpStatusCode.BadRequest },
        { "claim", "{}", "terminalId", HttpStatusCode.BadRequest },
        { "claim", "{\"terminalId\":\"has spaces and /\"}", "terminalId", HttpStatusCode.BadRequest },
        { "claim", "{\"terminalId\":42}", "terminalId", HttpStatusCode.BadRequest },
        { "report", "{\"reportId\":\"r1\",\"outcome\":\"filled\",\"filledVolume\":-0.1,\"price\":1.1}", "filledVolume", HttpStatusCode.BadRequest },
        { "report", "{\"reportId\":\"r1\",\"outcome\":\"filled\",\"filledVolume\":0.1,\"price\":-1.1}", "price", HttpStatusCode.BadRequest },
        { "report", "{\"reportId\":\"r1\",\"outcome\":\"filled\",\"filledVolume\":0.1,\"price\":1e999}", "price", HttpStatusCode.BadRequest },
        { "report", "{\"reportId\":\"r1\",\"outcome\":\"filled\",\"filledVolume\":\"NaN\",\"price\":1.1}", "filledVolume", HttpStatusCode.BadRequest },
        { "report", "{\"reportId\":\"r1\",\"outcome\":\"filled\",\"filledVolume\":0.1,\"price\":\"Infinity\"}", "price", HttpStatusCode.BadRequest },
        { "report", "{\"reportId\":\"r1\",\"outcome\":\"exploded\",\"filledVolume\":0.1,\"price\":1.1}", "outcome", HttpStatusCode.BadRequest },
        { "report", "{\"outcome\":\"filled\",\"filledVolume\":0.1,\"price\":1.1}", "reportId", HttpStatusCode.BadRequest },
        { "report", "{\"reportId\":\"r1\",\"outcome\":\"filled\",\"price\":1.1}", "filledVolume", HttpStatusCode.BadRequest },
        { "report", "{\"reportId\":\"r1\",\"outcome\":\"rejected\",\"filledVolume\":0.1}", "filledVolume", HttpStatusCode.BadRequest },
        { "report", "{\"reportId\":\"r1\",\"outcome\":\"filled\",\"filledVolume\":5,\"price\":1.1}", "filledVolume", HttpStatusCode.BadRequest },
        { "report", "{\"reportId\":\"r1\",\"outcome\":\"filled\",\"filledVolume\":0.1,\"price\":1.1,\"ticket\":-5}", "ticket", HttpStatusCode.BadRequest },
        { "report", "[1,2]", "body", HttpStatusCode.BadRequest },
        { "heartbeat", "{\"terminalId\":\"t1\",\"equity\":1000,\"balance\":1000,\"margin\":-1,\"freeMargin\":1000}", "margin", HttpStatusCode.BadRequest },
        { "heartbeat", "{\"terminalId\":\"t1\",\"balance\":1000,\"margin\":0,\"freeMargin\":1000}", "equity", HttpStatusCode.BadRequest },
        { "heartbeat", "{\"terminalId\":\"t1\",\"equity\":1000,\"balance\":1000,\"margin\":0,\"freeMargin\":1000,\"positions\":[{\"ticket\":1,\"symbol\":\"EURUSD\",\"side\":\"buy\",\"volume\":-1,\"openPrice\":1.1}]}", "positions[0].volume", HttpStatusCode.BadRequest },
        { "heartbeat", "{\"terminalId\":\"t1\",\"equity\":1000,\"balance\":1000,\"margin\":0,\"freeMargin\":1000,\"positions\":[{\"ticket\":1,\"symbol\":\"EURUSD\",\"side\":\"up\",\"volume\":1,\"openPrice\":1.1}]}", "positions[0].side", HttpStatusCode.BadRequest },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task A_bad_body_is_a_problem_naming_the_field_and_changes_nothing(string endpoint, string body, string field, HttpStatusCode status)
    {
        var id = await ClaimedDirectiveAsync();
        var before = await Host.FingerprintAsync();
        using var ea = Host.Ea("alpha");
        var path = endpoint == "heartbeat" ? "/ea/v1/heartbeat" : $"/ea/v1/directives/{id}/{endpoint}";
        var response = await ea.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(status, response.StatusCode);
        await AssertProblemAsync(response, field);
        Assert.Equal(before, await Host.FingerprintAsync());
    }

    [Theory]
    [InlineData("31")]
    [InlineData("-1")]
    [InlineData("soon")]
    public async Task A_bad_wait_is_a_problem(string wait)
    {
        using var ea = Host.Ea("alpha");
        var response = await ea.GetAsync($"/ea/v1/directives?wait={wait}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        await AssertProblemAsync(response, "wait");
    }

    [Fact]
    public async Task Unknown_directives_are_404_and_change_nothing()
    {
        var before = await Host.FingerprintAsync();
        using var ea = Host.Ea("alpha");
        var claim = await ea.PostAsync("/ea/v1/directives/nope/claim", GatewayTestHost.Json(new ClaimRequest("t1")));
        var report = await ea.PostAsync("/ea/v1/directives/nope/report", GatewayTestHost.Json(new ReportRequest("r1", "failed", null, 0, null, 10011, null, null)));
        var tooLong = await ea.PostAsync($"/ea/v1/directives/{new string('x', 40)}/claim", GatewayTestHost.Json(new ClaimRequest("t1")));
        Assert.All([claim, report, tooLong], r => Assert.Equal(HttpStatusCode.NotFound, r.StatusCode));
        await AssertProblemAsync(claim, null);
        Assert.Equal(before, await Host.FingerprintAsync());
    }

    [Fact]
    public async Task Missing_wrong_or_foreign_keys_are_refused()
    {
        var id = await ClaimedDirectiveAsync();
        var before = await Host.FingerprintAsync();
        var claim = GatewayTestHost.Json(new ClaimRequest("t-other"));
        using var none = Host.Client(null);
        using var wrong = Host.Client(ApiKeySecret.Generate());
        using var reader = Host.Client(await Host.ReaderKeyAsync());
        using var admin = Host.Client((await Host.Get<ApiKeyStore>().CreateAsync(Scopes.Admin, "test admin")).Secret);

        Assert.Equal(HttpStatusCode.Unauthorized, (await none.PostAsync($"/ea/v1/directives/{id}/claim", claim)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetAsync("/ea/v1/directives")).StatusCode);
        var forbidden = await reader.PostAsync($"/ea/v1/directives/{id}/claim", claim);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        await AssertProblemAsync(forbidden, null);
        Assert.Equal(HttpStatusCode.Forbidden, (await admin.PostAsync("/ea/v1/heartbeat", GatewayTestHost.Json(new { terminalId = "t" }))).StatusCode);
        Assert.Equal(before, await Host.FingerprintAsync());
    }

    [Fact]
    public async Task An_oversized_body_is_413_and_changes_nothing()
    {
        var id = await ClaimedDirectiveAsync();
        var before = await Host.FingerprintAsync();
        using var ea = Host.Ea("alpha");
        var message = new string('m', (int)EaEndpoints.SmallBodyLimit);
        var response = await ea.PostAsync($"/ea/v1/directives/{id}/report", GatewayTestHost.Json(new ReportRequest("r-big", "failed", null, 0, null, 10011, message, null)));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        await AssertProblemAsync(response, null);
        Assert.Equal(before, await Host.FingerprintAsync());
    }

    [Fact]
    public async Task Too_many_requests_are_429_and_change_nothing()
    {
        await using var host = await GatewayTestHost.StartAsync([("gamma", BrokerKind.MT5)], new Dictionary<string, string?>
        {
            ["Security:RateLimit:Burst"] = "3",
            ["Security:RateLimit:TokensPerPeriod"] = "1",
            ["Security:RateLimit:ReplenishmentPeriod"] = "00:10:00",
        });
        var directive = GatewayTestHost.Directive("rate-1", "gamma");
        await host.CreateAsync(directive);
        using var ea = host.Ea("gamma");
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await ea.GetAsync("/ea/v1/directives")).StatusCode);
        }

        var before = await host.FingerprintAsync();
        var refused = await ea.PostAsync("/ea/v1/directives/rate-1/claim", GatewayTestHost.Json(new ClaimRequest("t1")));
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
        await AssertProblemAsync(refused, null);
        Assert.Equal(before, await host.FingerprintAsync());
        Assert.Equal(DirectiveState.Pending, await host.StateAsync("rate-1"));
    }

    /// <summary>A directive of alpha claimed by terminal t1, so that any accepted report would change it.</summary>
    private async Task<string> ClaimedDirectiveAsync()
    {
        var directive = GatewayTestHost.Directive("b" + Guid.NewGuid().ToString("N")[..12], "alpha");
        await Host.CreateAsync(directive);
        using var ea = Host.Ea("alpha");
        Assert.Equal(HttpStatusCode.OK, (await ea.PostAsync($"/ea/v1/directives/{directive.Id}/claim", GatewayTestHost.Json(new ClaimRequest("t1")))).StatusCode);
        // The claim's outbox row is relayed asynchronously; wait until the outbox is quiet so the fingerprint is stable.
        await Testing.Eventually.UntilAsync("the claim's event is relayed", async () => await UnsentAsync() == 0);
        return directive.Id;
    }

    private async Task<long> UnsentAsync()
    {
        await using var command = Host.DataSource.CreateCommand("SELECT count(*) FROM gateway.outbox WHERE sent_at IS NULL");
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, string? field)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("\"detail\"", text, StringComparison.Ordinal);
        if (field is not null)
        {
            Assert.Contains(field, text, StringComparison.Ordinal);
        }
    }
}
