using System.Net;
using DistortSignals.Core.Accounts;
using DistortSignals.Core.Execution;
using DistortSignals.Core.Risk;
using DistortSignals.Gateway.Api;
using DistortSignals.Gateway.Processing;
using DistortSignals.Gateway.Storage;
using DistortSignals.Platform.Accounts;
using DistortSignals.Platform.Messaging;
using DistortSignals.Platform.Security;
using DistortSignals.Testing;

namespace DistortSignals.Gateway.Tests;

/// <summary>Expiry, claim leases, halting by risk's events, heartbeats and missed heartbeats, and EA key rotation.</summary>
public sealed class LifecycleTests : IAsyncLifetime
{
    private GatewayTestHost _host = null!;

    // The default claim lease (30 s): a claim made in a test stays claimed however slow the machine is.
    public async Task InitializeAsync() =>
        _host = await GatewayTestHost.StartAsync([("alpha", BrokerKind.MT5), ("halted", BrokerKind.MT5), ("quiet", BrokerKind.MT5)]);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task An_unclaimed_directive_expires_with_an_event_and_cannot_be_claimed()
    {
        var directive = GatewayTestHost.Directive("expire-1", "alpha", ttl: TimeSpan.FromSeconds(1));
        await _host.CreateAsync(directive);
        await Eventually.UntilAsync("the directive expired", async () => await _host.StateAsync("expire-1") == DirectiveState.Expired);

        var update = Assert.Single(await _host.OutboxAsync(Topics.Events.DirectiveUpdated), e => e.Id == "expire-1-expired").ReadData<DirectiveUpdate>();
        Assert.Equal((DirectiveState.Expired, "alpha", (string?)null), (update.State, update.Account, update.TerminalId));
        using var ea = _host.Ea("alpha");
        var claim = await ea.PostAsync("/ea/v1/directives/expire-1/claim", GatewayTestHost.Json(new ClaimRequest("t1")));
        Assert.Equal(HttpStatusCode.Conflict, claim.StatusCode);
        Assert.DoesNotContain((await GatewayTestHost.ReadAsync<PollAnswer>(await ea.GetAsync("/ea/v1/directives"))).Directives, d => d.Id == "expire-1");
    }

    [Fact]
    public async Task A_lapsed_claim_expires_is_never_leased_again_and_still_takes_a_late_fill()
    {
        await using var host = await GatewayTestHost.StartAsync([("alpha", BrokerKind.MT5)], new Dictionary<string, string?> { ["Gateway:ClaimLease"] = "00:00:01" });
        var directive = GatewayTestHost.Directive("lease-1", "alpha");
        await host.CreateAsync(directive);
        using var ea = host.Ea("alpha");
        Assert.Equal(HttpStatusCode.OK, (await ea.PostAsync("/ea/v1/directives/lease-1/claim", GatewayTestHost.Json(new ClaimRequest("t1")))).StatusCode);
        await Eventually.UntilAsync("the lease lapsed", async () => await host.StateAsync("lease-1") == DirectiveState.Expired);
        var expired = Assert.Single(await host.OutboxAsync(Topics.Events.DirectiveUpdated), e => e.Id == "lease-1-expired").ReadData<DirectiveUpdate>();
        Assert.Equal("t1", expired.TerminalId);

        Assert.Equal(HttpStatusCode.Conflict, (await ea.PostAsync("/ea/v1/directives/lease-1/claim", GatewayTestHost.Json(new ClaimRequest("t2")))).StatusCode);
        var late = await ea.PostAsync("/ea/v1/directives/lease-1/report", GatewayTestHost.Json(new ReportRequest("late-1", "filled", 9, 0.1, 1.1, 10009, null, null)));
        Assert.Equal(HttpStatusCode.OK, late.StatusCode);
        Assert.Equal(DirectiveState.Filled, await host.StateAsync("lease-1"));
        Assert.Equal("t1", Assert.Single(await host.OutboxAsync(Topics.Events.ExecutionReported), e => e.ReadData<ExecutionReported>().Directive.Id == "lease-1").ReadData<ExecutionReported>().TerminalId);
    }

    [Fact]
    public async Task A_breaker_trip_cancels_pending_directives_keeps_claimed_ones_and_cancels_new_ones_until_closed()
    {
        await _host.CreateAsync(GatewayTestHost.Directive("halt-pending", "halted"));
        await _host.CreateAsync(GatewayTestHost.Directive("halt-claimed", "halted"));
        using var ea = _host.Ea("halted");
        await ea.PostAsync("/ea/v1/directives/halt-claimed/claim", GatewayTestHost.Json(new ClaimRequest("t1")));

        await PublishBreakerAsync("halted", BreakerState.Open, sequence: 10);
        await Eventually.UntilAsync("the pending directive is cancelled", async () => await _host.StateAsync("halt-pending") == DirectiveState.Cancelled);
        Assert.Equal(DirectiveState.Claimed, await _host.StateAsync("halt-claimed"));
        Assert.Single(await _host.OutboxAsync(Topics.Events.DirectiveUpdated), e => e.Id == "halt-pending-cancelled");

        // An older state (sequence 9) says all is well: it is ignored.
        await PublishStateAsync("halted", tradingEnabled: true, BreakerState.Closed, sequence: 9);
        await _host.CreateAsync(GatewayTestHost.Directive("halt-new", "halted"));
        Assert.Equal(DirectiveState.Cancelled, await _host.StateAsync("halt-new"));
        var heartbeat = await HeartbeatAsync(ea);
        Assert.Equal(BreakerState.Open, heartbeat.Breaker);

        // A newer state closes the breaker: directives stay pending again.
        await PublishStateAsync("halted", tradingEnabled: true, BreakerState.Closed, sequence: 11);
        await Eventually.UntilAsync("the heartbeat answers closed", async () => (await HeartbeatAsync(ea)).Breaker == BreakerState.Closed);
        await _host.CreateAsync(GatewayTestHost.Directive("halt-after", "halted"));
        Assert.Equal(DirectiveState.Pending, await _host.StateAsync("halt-after"));

        // The kill switch halts as well.
        await PublishStateAsync("halted", tradingEnabled: false, BreakerState.Closed, sequence: 12);
        await Eventually.UntilAsync("the kill switch cancels", async () => await _host.StateAsync("halt-after") == DirectiveState.Cancelled);
        var off = await HeartbeatAsync(ea);
        Assert.False(off.TradingEnabled);
    }

    [Fact]
    public async Task The_kill_switch_in_the_state_of_the_turn_that_moved_the_breaker_halts()
    {
        await _host.CreateAsync(GatewayTestHost.Directive("kill-1", "alpha"));

        // One turn of risk: breaker.changed, then account.state with the same sequence and the kill switch off.
        await PublishBreakerAsync("alpha", BreakerState.Closed, sequence: 5);
        await PublishStateAsync("alpha", tradingEnabled: false, BreakerState.Closed, sequence: 5);

        Assert.Equal(DirectiveState.Cancelled, await _host.StateAsync("kill-1"));
        using var ea = _host.Ea("alpha");
        Assert.False((await HeartbeatAsync(ea)).TradingEnabled);
    }

    [Theory]
    [InlineData("alpha")]
    [InlineData("not-yet-configured")]
    public async Task A_directive_stored_while_a_halt_commits_is_cancelled_by_the_halt_not_left_pending(string account)
    {
        // The halt as the gateway applies risk's breaker.changed, held open while the directive is stored; a configured
        // account has its row already, one the gateway has not heard of gets it from the halt.
        await using var haltConnection = await _host.DataSource.OpenConnectionAsync();
        await using var halt = await haltConnection.BeginTransactionAsync();
        Assert.True(await DirectiveStore.ApplyHaltStateAsync(halt, account, null, BreakerState.Open, sequence: 1, CancellationToken.None));

        var ledger = _host.Get<DirectiveLedger>();
        await using var storeConnection = await _host.DataSource.OpenConnectionAsync();
        await using var store = await storeConnection.BeginTransactionAsync();
        var storing = ledger.CreateAsync(store, GatewayTestHost.Directive("race-1", account), CancellationToken.None);
        await Eventually.UntilAsync("the directive is stored, or its transaction waits for the halt's", async () =>
            storing.IsCompleted || await WaitsForLockAsync(storeConnection.ProcessID));

        await ledger.CancelIfHaltedAsync(halt, account, CancellationToken.None);
        await halt.CommitAsync();
        await storing;
        await store.CommitAsync();

        Assert.Equal(DirectiveState.Cancelled, await _host.StateAsync("race-1"));
        Assert.Single(await _host.OutboxAsync(Topics.Events.DirectiveUpdated), e => e.Id == "race-1-cancelled");
    }

    [Fact]
    public async Task A_heartbeat_is_answered_and_published_and_silence_marks_the_account_disconnected()
    {
        using var ea = _host.Ea("quiet");
        var body = new HeartbeatRequest("term-q", 10_100, 10_000, 50, 10_050,
            [new PositionRequest(77, "EURUSD", "buy", 0.1, 1.1, 1.09, 1.12, 100, 4242, "DS:abc")], DateTimeOffset.UtcNow);
        var response = await ea.PostAsync("/ea/v1/heartbeat", GatewayTestHost.Json(body));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = await GatewayTestHost.ReadAsync<HeartbeatAnswer>(response);
        Assert.Equal(new HeartbeatAnswer(true, BreakerState.Closed, 1), answer);

        var published = Assert.Single(await _host.OutboxAsync(Topics.Events.AccountHeartbeat), e => e.Subject == "quiet").ReadData<AccountHeartbeat>();
        Assert.True(published.Connected);
        Assert.Equal((10_100d, "term-q", 77L, OrderSide.Buy), (published.Equity, published.TerminalId, published.Positions.Single().Ticket, published.Positions.Single().Side));

        // PollSeconds 1 and three missed heartbeats: after about 3 s of silence the account is disconnected.
        await Eventually.UntilAsync("the disconnect is published", async () =>
            (await _host.OutboxAsync(Topics.Events.AccountHeartbeat)).Any(e => e.Subject == "quiet" && !e.ReadData<AccountHeartbeat>().Connected));
        var lost = (await _host.OutboxAsync(Topics.Events.AccountHeartbeat)).Single(e => e.Subject == "quiet" && !e.ReadData<AccountHeartbeat>().Connected).ReadData<AccountHeartbeat>();
        Assert.Equal(10_100, lost.Equity);
        Assert.False((await _host.Get<DirectiveStore>().AccountAsync("quiet", CancellationToken.None)).Connected);
    }

    [Fact]
    public async Task A_pushed_key_hash_becomes_the_accounts_only_ea_key()
    {
        var newKey = ApiKeySecret.Generate();
        var oldKey = _host.Keys["alpha"];
        using (var old = _host.Client(oldKey))
        {
            Assert.Equal(HttpStatusCode.OK, (await old.GetAsync("/ea/v1/directives")).StatusCode);
        }

        var spec = GatewayTestHost.Spec("alpha", BrokerKind.MT5);
        foreach (var sink in _host.Get<IEnumerable<IAccountConfigurationSink>>())
        {
            await sink.ApplyAsync(new AccountConfiguration("alpha", spec, AccountConfigurationEndpoints.Sha256Hex(newKey)), CancellationToken.None);
            await sink.ApplyAsync(new AccountConfiguration("alpha", spec, AccountConfigurationEndpoints.Sha256Hex(newKey)), CancellationToken.None);
        }

        using var fresh = _host.Client(newKey);
        using var stale = _host.Client(oldKey);
        Assert.Equal(HttpStatusCode.OK, (await fresh.GetAsync("/ea/v1/directives")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await stale.GetAsync("/ea/v1/directives")).StatusCode);
        var identity = await _host.Get<ApiKeyStore>().ValidateAsync(newKey);
        Assert.Equal(Scopes.ForAccount("alpha"), identity!.Scope);
    }

    private async Task<bool> WaitsForLockAsync(int backend)
    {
        await using var command = _host.DataSource.CreateCommand("SELECT count(*) FROM pg_stat_activity WHERE pid = @pid AND wait_event_type = 'Lock'");
        command.Parameters.AddWithValue("pid", backend);
        return (long)(await command.ExecuteScalarAsync())! == 1;
    }

    private async Task<HeartbeatAnswer> HeartbeatAsync(HttpClient ea) =>
        await GatewayTestHost.ReadAsync<HeartbeatAnswer>(await ea.PostAsync("/ea/v1/heartbeat", GatewayTestHost.Json(new HeartbeatRequest("t1", 1000, 1000, 0, 1000, [], null))));

    private Task PublishBreakerAsync(string account, BreakerState state, long sequence) =>
        _host.PublishAsync(Topics.Accounts, CloudEvent.Create($"breaker-{account}-{sequence}", "risk", Topics.Events.BreakerChanged, account, DateTimeOffset.UtcNow,
            new BreakerChanged(account, state, BreakerKind.ConsecutiveLosses, "4 losses in a row", DateTimeOffset.UtcNow, null, sequence)));

    private async Task PublishStateAsync(string account, bool tradingEnabled, BreakerState breaker, long sequence)
    {
        await _host.PublishAsync(Topics.Accounts, CloudEvent.Create($"state-{account}-{sequence}", "risk", Topics.Events.AccountState, account, DateTimeOffset.UtcNow,
            new AccountStateSnapshot(account, tradingEnabled, breaker, BreakerKind.None, null, null, null, 0, 0, 0, 0, null, 1000, 1000, 0, null, true, sequence)));
        await Eventually.UntilAsync($"state {sequence} is handled", async () =>
        {
            await using var command = _host.DataSource.CreateCommand("SELECT count(*) FROM gateway.handled_events WHERE event_id = @id");
            command.Parameters.AddWithValue("id", $"state-{account}-{sequence}");
            return (long)(await command.ExecuteScalarAsync())! == 1;
        });
    }
}
