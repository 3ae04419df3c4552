using System.Diagnostics;
using System.Net;
using DistortSignals.Core.Execution;
using DistortSignals.Gateway.Api;
using DistortSignals.Platform.Messaging;

namespace DistortSignals.Gateway.Tests;

/// <summary>The EA contract over real HTTP: poll, long-poll, claim (with real races), report idempotency, accounts kept apart.</summary>
public sealed class EaContractTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private GatewayTestHost Host => fixture.Host;

    private static string NewId(string prefix) => prefix + Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public async Task A_created_directive_is_polled_once_stored_even_when_delivered_twice()
    {
        var directive = GatewayTestHost.Directive(NewId("p"), "alpha");
        await Host.CreateAsync(directive);
        await Host.PublishAsync(Topics.Directives, Platform.Messaging.CloudEvent.Create("again-" + directive.Id, "risk", Topics.Events.DirectiveCreated, "alpha", directive.CreatedAt, directive));

        using var ea = Host.Ea("alpha");
        var answer = await GatewayTestHost.ReadAsync<PollAnswer>(await ea.GetAsync("/ea/v1/directives"));
        Assert.Single(answer.Directives, d => d.Id == directive.Id);
        Assert.Equal(directive, answer.Directives.Single(d => d.Id == directive.Id));

        using var other = Host.Ea("beta");
        var others = await GatewayTestHost.ReadAsync<PollAnswer>(await other.GetAsync("/ea/v1/directives"));
        Assert.DoesNotContain(others.Directives, d => d.Id == directive.Id);
    }

    [Fact]
    public async Task A_polled_directive_spells_action_side_and_order_type_in_capitals_as_the_contract_does()
    {
        var directive = GatewayTestHost.Directive(NewId("c"), "alpha");
        await Host.CreateAsync(directive);

        using var ea = Host.Ea("alpha");
        using var response = await ea.GetAsync("/ea/v1/directives");
        using var json = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        var polled = json.RootElement.GetProperty("directives").EnumerateArray().Single(d => d.GetProperty("id").GetString() == directive.Id);
        Assert.Equal(("OPEN", "BUY", "MARKET"), (polled.GetProperty("action").GetString(), polled.GetProperty("side").GetString(), polled.GetProperty("orderType").GetString()));
    }

    [Fact]
    public async Task A_long_poll_wakes_when_a_directive_arrives()
    {
        using var ea = Host.Ea("beta");
        await DrainAsync(ea, "beta");
        var clock = Stopwatch.StartNew();
        var poll = ea.GetAsync("/ea/v1/directives?wait=20");
        await Task.Delay(300);
        Assert.False(poll.IsCompleted, "the poll returned before any directive arrived");
        var directive = GatewayTestHost.Directive(NewId("w"), "beta");
        await Host.CreateAsync(directive);

        var answer = await GatewayTestHost.ReadAsync<PollAnswer>(await poll);
        Assert.Contains(answer.Directives, d => d.Id == directive.Id);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"the poll took {clock.Elapsed}");
    }

    [Fact]
    public async Task A_long_poll_without_directives_returns_empty_after_the_wait()
    {
        using var ea = Host.Ea("beta");
        await DrainAsync(ea, "beta");
        var clock = Stopwatch.StartNew();
        var answer = await GatewayTestHost.ReadAsync<PollAnswer>(await ea.GetAsync("/ea/v1/directives?wait=1"));
        Assert.Empty(answer.Directives);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.9), $"returned after {clock.Elapsed}");
    }

    [Fact]
    public async Task Two_terminals_racing_for_a_claim_exactly_one_wins()
    {
        for (var round = 0; round < 10; round++)
        {
            var directive = GatewayTestHost.Directive(NewId("r"), "alpha");
            await Host.CreateAsync(directive);
            using var first = Host.Ea("alpha");
            using var second = Host.Ea("alpha");
            using var start = new Barrier(2);
            Task<HttpResponseMessage> Claim(HttpClient client, string terminal) => Task.Run(() =>
            {
                start.SignalAndWait();
                return client.PostAsync($"/ea/v1/directives/{directive.Id}/claim", GatewayTestHost.Json(new ClaimRequest(terminal)));
            });

            var results = await Task.WhenAll(Claim(first, "terminal-1"), Claim(second, "terminal-2"));
            Assert.Single(results, r => r.StatusCode == HttpStatusCode.OK);
            Assert.Single(results, r => r.StatusCode == HttpStatusCode.Conflict);
            Assert.Equal("application/problem+json", results.Single(r => r.StatusCode == HttpStatusCode.Conflict).Content.Headers.ContentType?.MediaType);
            var winner = (await GatewayTestHost.ReadAsync<ClaimAnswer>(results.Single(r => r.StatusCode == HttpStatusCode.OK))).TerminalId;

            // The winner claiming again is idempotent; the loser stays refused.
            using var again = Host.Ea("alpha");
            Assert.Equal(HttpStatusCode.OK, (await again.PostAsync($"/ea/v1/directives/{directive.Id}/claim", GatewayTestHost.Json(new ClaimRequest(winner)))).StatusCode);
            Assert.Equal(DirectiveState.Claimed, await Host.StateAsync(directive.Id));
            Assert.Single(await Host.OutboxAsync(Topics.Events.DirectiveUpdated), e => e.Subject == "alpha" && e.Id == directive.Id + "-claimed");
        }
    }

    [Fact]
    public async Task A_claimed_directive_is_no_longer_polled()
    {
        var directive = GatewayTestHost.Directive(NewId("c"), "alpha");
        await Host.CreateAsync(directive);
        using var ea = Host.Ea("alpha");
        Assert.Equal(HttpStatusCode.OK, (await ea.PostAsync($"/ea/v1/directives/{directive.Id}/claim", GatewayTestHost.Json(new ClaimRequest("t1")))).StatusCode);
        var answer = await GatewayTestHost.ReadAsync<PollAnswer>(await ea.GetAsync("/ea/v1/directives"));
        Assert.DoesNotContain(answer.Directives, d => d.Id == directive.Id);
    }

    [Fact]
    public async Task A_report_repeated_three_times_makes_one_fill_and_the_same_answer()
    {
        var directive = GatewayTestHost.Directive(NewId("f"), "alpha");
        await Host.CreateAsync(directive);
        using var ea = Host.Ea("alpha");
        await ea.PostAsync($"/ea/v1/directives/{directive.Id}/claim", GatewayTestHost.Json(new ClaimRequest("t1")));
        // The terminal's clock is an hour behind: its time is kept as the execution's, the gateway's is when it was received.
        var terminalTime = DateTimeOffset.UtcNow.AddHours(-1);
        var report = new ReportRequest("rep-" + directive.Id, "filled", 123456, 0.1, 1.08512, 10009, "done", terminalTime);
        var sent = DateTimeOffset.UtcNow;

        var answers = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var response = await ea.PostAsync($"/ea/v1/directives/{directive.Id}/report", GatewayTestHost.Json(report));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            answers.Add(await response.Content.ReadAsStringAsync());
        }

        Assert.Single(answers.Distinct());
        Assert.Equal(DirectiveState.Filled, (await GatewayTestHost.ReadAsync<ReportAnswer>(await ea.PostAsync($"/ea/v1/directives/{directive.Id}/report", GatewayTestHost.Json(report)))).State);
        Assert.Equal(DirectiveState.Filled, await Host.StateAsync(directive.Id));
        var executions = (await Host.OutboxAsync(Topics.Events.ExecutionReported)).Where(e => e.ReadData<ExecutionReported>().Directive.Id == directive.Id).ToList();
        var reported = Assert.Single(executions).ReadData<ExecutionReported>();
        Assert.Equal((ExecutionOutcome.Filled, 0.1, 1.08512, "t1", 123456L), (reported.Outcome, reported.FilledVolume, reported.Price!.Value, reported.TerminalId, reported.Ticket!.Value));
        Assert.Equal(terminalTime, reported.ExecutedAt);
        Assert.InRange(reported.ReceivedAt!.Value, sent, DateTimeOffset.UtcNow);
        Assert.Equal(directive, reported.Directive);
        Assert.Single(await Host.OutboxAsync(Topics.Events.DirectiveUpdated), e => e.Id == directive.Id + "-filled");
    }

    [Fact]
    public async Task A_conflicting_report_on_a_finished_directive_is_409_and_changes_nothing()
    {
        var directive = GatewayTestHost.Directive(NewId("x"), "alpha");
        await Host.CreateAsync(directive);
        using var ea = Host.Ea("alpha");
        await ea.PostAsync($"/ea/v1/directives/{directive.Id}/claim", GatewayTestHost.Json(new ClaimRequest("t1")));
        var filled = new ReportRequest("rep-" + directive.Id, "filled", 1, 0.1, 1.1, 10009, null, null);
        Assert.Equal(HttpStatusCode.OK, (await ea.PostAsync($"/ea/v1/directives/{directive.Id}/report", GatewayTestHost.Json(filled))).StatusCode);
        var before = await Host.FingerprintAsync();

        var rejected = new ReportRequest("rep2-" + directive.Id, "rejected", null, 0, null, 10006, "rejected", null);
        var conflict = await ea.PostAsync($"/ea/v1/directives/{directive.Id}/report", GatewayTestHost.Json(rejected));
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Equal("application/problem+json", conflict.Content.Headers.ContentType?.MediaType);

        // The same report id with other content is a conflict too.
        var reused = await ea.PostAsync($"/ea/v1/directives/{directive.Id}/report", GatewayTestHost.Json(filled with { Price = 1.2 }));
        Assert.Equal(HttpStatusCode.Conflict, reused.StatusCode);
        Assert.Equal(before, await Host.FingerprintAsync());

        // The same facts under a new report id (an EA that restarted) get the same state and no new event.
        var same = await ea.PostAsync($"/ea/v1/directives/{directive.Id}/report", GatewayTestHost.Json(filled with { ReportId = "rep3-" + directive.Id }));
        Assert.Equal(HttpStatusCode.OK, same.StatusCode);
        Assert.Equal(DirectiveState.Filled, (await GatewayTestHost.ReadAsync<ReportAnswer>(same)).State);
        Assert.Single(await Host.OutboxAsync(Topics.Events.ExecutionReported), e => e.ReadData<ExecutionReported>().Directive.Id == directive.Id);
    }

    [Fact]
    public async Task A_report_before_a_claim_is_409()
    {
        var directive = GatewayTestHost.Directive(NewId("u"), "alpha");
        await Host.CreateAsync(directive);
        using var ea = Host.Ea("alpha");
        var response = await ea.PostAsync($"/ea/v1/directives/{directive.Id}/report", GatewayTestHost.Json(new ReportRequest("r-" + directive.Id, "filled", 1, 0.1, 1.1, 10009, null, null)));
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal(DirectiveState.Pending, await Host.StateAsync(directive.Id));
    }

    [Theory]
    [InlineData("rejected", DirectiveState.Rejected)]
    [InlineData("failed", DirectiveState.Failed)]
    [InlineData("partial", DirectiveState.PartiallyFilled)]
    public async Task Each_outcome_has_its_state(string outcome, DirectiveState state)
    {
        var directive = GatewayTestHost.Directive(NewId("o"), "alpha");
        await Host.CreateAsync(directive);
        using var ea = Host.Ea("alpha");
        await ea.PostAsync($"/ea/v1/directives/{directive.Id}/claim", GatewayTestHost.Json(new ClaimRequest("t1")));
        var executed = outcome == "partial";
        var report = new ReportRequest("r-" + directive.Id, outcome, executed ? 7 : null, executed ? 0.05 : 0, executed ? 1.1 : null, executed ? 10010 : 10006, outcome, null);
        var response = await ea.PostAsync($"/ea/v1/directives/{directive.Id}/report", GatewayTestHost.Json(report));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(state, await Host.StateAsync(directive.Id));
    }

    [Fact]
    public async Task Another_accounts_directive_is_not_found_and_untouched()
    {
        var directive = GatewayTestHost.Directive(NewId("n"), "alpha");
        await Host.CreateAsync(directive);
        using var beta = Host.Ea("beta");
        var claim = await beta.PostAsync($"/ea/v1/directives/{directive.Id}/claim", GatewayTestHost.Json(new ClaimRequest("t9")));
        Assert.Equal(HttpStatusCode.NotFound, claim.StatusCode);
        Assert.Equal("application/problem+json", claim.Content.Headers.ContentType?.MediaType);
        var report = await beta.PostAsync($"/ea/v1/directives/{directive.Id}/report", GatewayTestHost.Json(new ReportRequest("r-x", "filled", 1, 0.1, 1.1, 10009, null, null)));
        Assert.Equal(HttpStatusCode.NotFound, report.StatusCode);
        Assert.Equal(DirectiveState.Pending, await Host.StateAsync(directive.Id));

        var unknown = await beta.PostAsync("/ea/v1/directives/no-such-directive/claim", GatewayTestHost.Json(new ClaimRequest("t9")));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Operations_list_directives_with_their_states_for_a_reader()
    {
        var directive = GatewayTestHost.Directive(NewId("l"), "beta");
        await Host.CreateAsync(directive);
        using var reader = Host.Client(await Host.ReaderKeyAsync());
        var body = await (await reader.GetAsync("/api/v1/directives?account=beta&state=pending&limit=1000")).Content.ReadAsStringAsync();
        Assert.Contains(directive.Id, body, StringComparison.Ordinal);
        Assert.Contains("\"state\":\"Pending\"", body, StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.BadRequest, (await reader.GetAsync("/api/v1/directives?state=Sleeping")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await reader.GetAsync("/api/v1/directives?limit=0")).StatusCode);
        using var ea = Host.Ea("beta");
        Assert.Equal(HttpStatusCode.Forbidden, (await ea.GetAsync("/api/v1/directives")).StatusCode);
    }

    /// <summary>Claims whatever the account has pending, so a test starts from an empty queue.</summary>
    private static async Task DrainAsync(HttpClient ea, string account)
    {
        var answer = await GatewayTestHost.ReadAsync<PollAnswer>(await ea.GetAsync("/ea/v1/directives"));
        foreach (var directive in answer.Directives)
        {
            await ea.PostAsync($"/ea/v1/directives/{directive.Id}/claim", GatewayTestHost.Json(new ClaimRequest("drain-" + account)));
        }
    }
}
