using System.Text.Json;
using DistortSignals.Core.Accounts;
using DistortSignals.Core.Execution;
using DistortSignals.Core.Risk;
using DistortSignals.Core.Strategies;
using DistortSignals.Platform;
using DistortSignals.Platform.Actors;
using DistortSignals.Platform.InProcess;
using DistortSignals.Platform.Messaging;
using DistortSignals.Platform.State;
using DistortSignals.Risk.Accounts;
using DistortSignals.Risk.Storage;
using DistortSignals.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using static DistortSignals.Risk.Tests.RiskTestHost;

namespace DistortSignals.Risk.Tests;

/// <summary>
/// The module on the real in-process platform and PostgreSQL. Equity starts at the paper 10,000; a buy signal at
/// 1.1000 with a 50-pip stop risks 1% = 100 over 50 pips x 10 per pip and lot: 0.2 lots.
/// </summary>
public sealed class RiskModuleTests
{
    [Fact]
    public async Task A_signal_becomes_a_decision_and_a_directive()
    {
        await using var host = await StartAsync();
        await host.ConfigureAsync(Spec());

        await host.DeliverAsync(Topics.Signals, SignalGenerated(Signal("sig-a")));

        var decision = Assert.Single(await host.DecisionsAsync());
        Assert.Equal((Account, "sig-a", RiskVerdict.Allow, 0.2), (decision.Account, decision.SignalId, decision.Verdict, decision.Lots));
        var directive = Assert.Single(await host.DirectivesAsync());
        Assert.Equal(AccountActor.DirectiveId(Account, "sig-a", DirectiveAction.Open), directive.Id);
        Assert.Equal(TradeDirective.MaxIdLength, directive.Id.Length);
        Assert.Equal((DirectiveAction.Open, OrderSide.Buy, 0.2, 1.095, Signal("sig-a").TakeProfit), (directive.Action, directive.Side, directive.Volume, directive.Sl!.Value, directive.Tp!.Value));
        Assert.Equal((Start, Start.AddSeconds(60), "DS:" + directive.Id), (directive.CreatedAt, directive.ExpiresAt, directive.Comment));
        Assert.Equal(1, await host.CountAsync($"SELECT count(*) FROM risk.decisions WHERE directive_id = '{directive.Id}' AND verdict = 'Allow'"));
    }

    [Fact]
    public async Task A_partial_fill_reported_before_its_execution_keeps_the_order_pending()
    {
        await using var host = await StartAsync();
        await host.ConfigureAsync(Spec());
        await host.DeliverAsync(Topics.Signals, SignalGenerated(Signal("sig-a")));
        var directive = Assert.Single(await host.DirectivesAsync());

        // The gateway's directive.updated and execution.reported go on different topics: the update may come first.
        await host.DeliverAsync(Topics.Directives, CloudEvent.Create($"{directive.Id}-partiallyfilled", "gateway", Topics.Events.DirectiveUpdated, Account, Start,
            new DirectiveUpdate(directive.Id, Account, DirectiveState.PartiallyFilled, "t-1", null, Start)));
        await host.DeliverAsync(Topics.Signals, SignalGenerated(Signal("sig-b")));

        Assert.Equal(RiskVerdict.Block, Assert.Single(await host.DecisionsAsync(), d => d.SignalId == "sig-b").Verdict);
        Assert.Single(await host.DirectivesAsync());
    }

    [Fact]
    public async Task A_turn_whose_state_save_was_lost_is_kept_by_the_turns_after_it()
    {
        LosingStateStore? store = null;
        await using var host = await StartAsync(services => services.AddSingleton<IStateStore>(provider =>
            store = new LosingStateStore(new PostgresStateStore(provider.GetRequiredService<NpgsqlDataSource>()))));
        await host.ConfigureAsync(Spec());
        var fill = host.Fill(DirectiveAction.Open, OrderSide.Buy, 0.1, 1.1);

        // The fill's turn commits its account.state; then the actor's own save of its state is lost.
        store!.LoseNextTransaction();
        await Assert.ThrowsAsync<IOException>(() => host.DeliverAsync(Topics.Executions, fill));
        // The kill switch comes before the fill is delivered again: its account.state must go out at once.
        await host.Get<IActorInvoker>().InvokeMethodAsync(AccountActor.ActorType, Account, AccountActor.Trading,
            JsonSerializer.SerializeToElement(new TradingInput(false, new Requester(null, "test")), PlatformJson.Options), CancellationToken.None);
        var killed = await host.OutboxAsync<AccountStateSnapshot>(Topics.Events.AccountState);
        await host.DeliverAsync(Topics.Executions, fill);

        Assert.Equal((false, 1), (killed[^1].TradingEnabled, killed[^1].OpenPositions));
        Assert.Equal([.. Enumerable.Range(1, killed.Count).Select(n => (long)n)], killed.Select(s => s.Sequence));
        // Delivered again, the fill is recognised as booked.
        Assert.Equal(killed, await host.OutboxAsync<AccountStateSnapshot>(Topics.Events.AccountState));
    }

    [Fact]
    public async Task A_claim_that_lapsed_without_a_report_keeps_its_order_pending_until_a_heartbeat_shows_no_position_of_it()
    {
        await using var host = await StartAsync();
        await host.ConfigureAsync(Spec());
        await host.DeliverAsync(Topics.Signals, SignalGenerated(Signal("sig-a")));
        var directive = Assert.Single(await host.DirectivesAsync());

        // The terminal claimed it and went silent past the lease: its order may be at the broker.
        host.Clock.Now = Start.AddSeconds(40);
        await host.DeliverAsync(Topics.Directives, CloudEvent.Create($"{directive.Id}-expired", "gateway", Topics.Events.DirectiveUpdated, Account, host.Clock.Now,
            new DirectiveUpdate(directive.Id, Account, DirectiveState.Expired, "t-1", "the claim lease ended without a report", host.Clock.Now)));
        await host.DeliverAsync(Topics.Signals, SignalGenerated(Signal("sig-b")));
        host.Clock.Now = Start.AddSeconds(50);
        await host.DeliverAsync(Topics.Accounts, host.Heartbeat(10_000));
        await host.DeliverAsync(Topics.Signals, SignalGenerated(Signal("sig-c")));

        var decisions = await host.DecisionsAsync();
        Assert.Equal("duplicate", Assert.Single(decisions, d => d.SignalId == "sig-b").Checks[^1].Name);
        Assert.Equal(RiskVerdict.Block, Assert.Single(decisions, d => d.SignalId == "sig-b").Verdict);
        Assert.Equal(RiskVerdict.Allow, Assert.Single(decisions, d => d.SignalId == "sig-c").Verdict);
    }

    [Fact]
    public async Task A_position_the_terminal_no_longer_holds_is_closed_and_its_symbol_trades_again()
    {
        await using var host = await StartAsync();
        await host.ConfigureAsync(Spec());
        await host.DeliverAsync(Topics.Executions, host.Fill(DirectiveAction.Open, OrderSide.Buy, 0.2, 1.1));
        await host.DeliverAsync(Topics.Bars, BarClosed(1.095));
        await host.DeliverAsync(Topics.Signals, SignalGenerated(Signal("sig-held")));

        // The stop-loss closed it at the broker; the terminal's next heartbeat lists no position.
        host.Clock.Now = Start.AddSeconds(30);
        await host.DeliverAsync(Topics.Accounts, host.Heartbeat(9_900));
        var state = await host.StateAsync();
        await host.DeliverAsync(Topics.Signals, SignalGenerated(Signal("sig-after")));

        var decisions = await host.DecisionsAsync();
        Assert.Equal("duplicate", Assert.Single(decisions, d => d.SignalId == "sig-held").Checks[^1].Name);
        Assert.Equal((0, 1, 9_900.0), (state.OpenPositions, state.ConsecutiveLosses, state.Equity));   // closed at the 1.095 mark: a loss
        Assert.Equal(RiskVerdict.Allow, Assert.Single(decisions, d => d.SignalId == "sig-after").Verdict);
    }

    [Fact]
    public async Task A_signal_for_other_accounts_is_ignored()
    {
        await using var host = await StartAsync();
        await host.ConfigureAsync(Spec());

        await host.DeliverAsync(Topics.Signals, SignalGenerated(Signal("sig-a"), "someone-else"));

        Assert.Empty(await host.DecisionsAsync());
    }

    [Fact]
    public async Task A_redelivered_signal_makes_one_directive()
    {
        await using var host = await StartAsync();
        await host.ConfigureAsync(Spec());
        var generated = SignalGenerated(Signal("sig-a"));

        await host.DeliverAsync(Topics.Signals, generated);
        await host.DeliverAsync(Topics.Signals, generated);
        // As after a crash between the actor's turn and the delivery's commit: the actor itself sees it again.
        await host.Get<IActorInvoker>().InvokeMethodAsync(AccountActor.ActorType, Account, AccountActor.Signal,
            JsonSerializer.SerializeToElement(new SignalInput(generated.Id, Signal("sig-a")), PlatformJson.Options), CancellationToken.None);
        // Republished under another event id: the pending order makes it a duplicate, and the decision id is the same.
        await host.DeliverAsync(Topics.Signals, generated with { Id = "again" });

        Assert.Single(await host.DirectivesAsync());
        Assert.Single(await host.DecisionsAsync());
        Assert.Equal(1, await host.CountAsync("SELECT count(*) FROM risk.decisions"));
    }

    [Fact]
    public async Task Losing_fills_trip_the_consecutive_loss_breaker_which_half_opens_after_the_cool_down_and_a_win_closes()
    {
        await using var host = await StartAsync();
        await host.ConfigureAsync(Spec(new RiskLimits { MaxConsecutiveLosses = 2, CooldownMinutes = 0 }));

        for (var i = 0; i < 2; i++)
        {
            await host.DeliverAsync(Topics.Executions, host.Fill(DirectiveAction.Open, OrderSide.Buy, 0.1, 1.1));
            await host.DeliverAsync(Topics.Executions, host.Fill(DirectiveAction.Close, OrderSide.Sell, 0.1, 1.099)); // -10 pips x 10 x 0.1 = -10
        }

        var opened = (await host.BreakerChangesAsync())[0];
        Assert.Equal((BreakerState.Open, BreakerKind.ConsecutiveLosses), (opened.State, opened.Breaker));

        // The cool-down of 0 minutes ends at once: the breaker reminder half-opens it.
        await Eventually.UntilAsync("the breaker is half-open", async () => (await host.BreakerChangesAsync()).Any(b => b.State == BreakerState.HalfOpen));
        await host.DeliverAsync(Topics.Signals, SignalGenerated(Signal("sig-trial")));
        await host.DeliverAsync(Topics.Signals, SignalGenerated(Signal("sig-second", SignalDirection.Sell) with { Symbol = "EURUSD" }));
        var decisions = await host.DecisionsAsync();
        // 10,000 - 20 = 9,980 x 1% / 500 = 0.1996 lots, halved: 0.0998 -> 0.09
        Assert.Equal((RiskVerdict.Reduce, 0.09), (decisions[0].Verdict, decisions[0].Lots));
        Assert.Equal(RiskVerdict.Block, decisions[1].Verdict);

        await host.DeliverAsync(Topics.Executions, host.Fill(DirectiveAction.Open, OrderSide.Buy, 0.09, 1.1));
        await host.DeliverAsync(Topics.Executions, host.Fill(DirectiveAction.Close, OrderSide.Sell, 0.09, 1.102));

        var changes = await host.BreakerChangesAsync();
        Assert.Equal([BreakerState.Open, BreakerState.HalfOpen, BreakerState.Closed], changes.Select(c => c.State));
        Assert.True(changes[0].Sequence < changes[1].Sequence && changes[1].Sequence < changes[2].Sequence);
        Assert.Equal((BreakerState.Closed, 0), ((await host.StateAsync()).Breaker, (await host.StateAsync()).ConsecutiveLosses));
    }

    [Fact]
    public async Task A_daily_loss_trips_the_daily_breaker_until_the_next_reset()
    {
        await using var host = await StartAsync();
        await host.ConfigureAsync(Spec());

        await host.DeliverAsync(Topics.Accounts, host.Heartbeat(9_700)); // -3% today
        await host.DeliverAsync(Topics.Signals, SignalGenerated(Signal("sig-blocked")));
        host.Clock.Now = new DateTimeOffset(2026, 3, 18, 21, 0, 0, TimeSpan.Zero); // 17:00 New York: the next day
        await host.DeliverAsync(Topics.Accounts, host.Heartbeat(9_700));
        await host.DeliverAsync(Topics.Signals, SignalGenerated(Signal("sig-allowed") with { BarTime = host.Clock.Now.AddHours(-1), Time = host.Clock.Now }));

        var changes = await host.BreakerChangesAsync();
        Assert.Equal((BreakerState.Open, BreakerKind.DailyLoss), (changes[0].State, changes[0].Breaker));
        Assert.Equal(new DateTimeOffset(2026, 3, 18, 21, 0, 0, TimeSpan.Zero), changes[0].Until);
        Assert.Equal(BreakerState.Closed, changes[1].State);
        var decisions = await host.DecisionsAsync();
        Assert.Equal([RiskVerdict.Block, RiskVerdict.Allow], decisions.Select(d => d.Verdict));
        Assert.Contains(decisions[0].Checks, c => c.Name == "breaker" && c.Result == CheckResult.Block);
        Assert.Equal(0, (await host.StateAsync()).DailyPnlPct);
    }

    [Fact]
    public async Task Rejections_trip_the_broker_error_breaker_and_a_reset_with_a_token_works_once()
    {
        await using var host = await StartAsync();
        await host.ConfigureAsync(Spec());
        var admin = await host.ClientWithKeyAsync("admin", "ops-alice");
        for (var i = 0; i < 3; i++)
        {
            await host.DeliverAsync(Topics.Executions, host.Fill(DirectiveAction.Open, OrderSide.Buy, 0.1, 1.1, ExecutionOutcome.Rejected));
        }

        var first = await admin.PostAsync($"/api/v1/accounts/{Account}/breaker/reset", Json(new { token = "t-1", reason = "terminal fixed" }));
        var again = await admin.PostAsync($"/api/v1/accounts/{Account}/breaker/reset", Json(new { token = "t-1", reason = "terminal fixed" }));

        Assert.Equal(BreakerKind.BrokerErrors, (await host.BreakerChangesAsync())[0].Breaker);
        first.EnsureSuccessStatusCode();
        var applied = JsonSerializer.Deserialize<ResetResult>(await first.Content.ReadAsStringAsync(), PlatformJson.Options)!;
        var repeated = JsonSerializer.Deserialize<ResetResult>(await again.Content.ReadAsStringAsync(), PlatformJson.Options)!;
        Assert.Equal((true, BreakerState.Closed, "t-1"), (applied.Applied, applied.State.Breaker, applied.State.LastResetToken));
        Assert.False(repeated.Applied);
        Assert.Equal([BreakerState.Open, BreakerState.Closed], (await host.BreakerChangesAsync()).Select(c => c.State));
        Assert.Equal(1, await host.CountAsync("SELECT count(*) FROM risk.audit WHERE action = 'breaker-reset' AND key_name = 'ops-alice' AND key_id IS NOT NULL AND detail->>'token' = 't-1'"));
    }

    [Fact]
    public async Task The_kill_switch_blocks_and_is_audited()
    {
        await using var host = await StartAsync();
        await host.ConfigureAsync(Spec());
        var admin = await host.ClientWithKeyAsync("admin", "ops-bob");

        var response = await admin.PostAsync($"/api/v1/accounts/{Account}/trading", Json(new { enabled = false }));
        await host.DeliverAsync(Topics.Signals, SignalGenerated(Signal("sig-a")));

        response.EnsureSuccessStatusCode();
        Assert.False((await host.StateAsync()).TradingEnabled);
        var decision = Assert.Single(await host.DecisionsAsync());
        Assert.Equal(RiskVerdict.Block, decision.Verdict);
        Assert.Equal("kill-switch", decision.Checks.Single().Name);
        Assert.Empty(await host.DirectivesAsync());
        Assert.Equal(1, await host.CountAsync("SELECT count(*) FROM risk.audit WHERE action = 'trading' AND key_name = 'ops-bob' AND detail->>'enabled' = 'false'"));
    }

    [Fact]
    public async Task An_opposite_signal_closes_the_position_and_bars_mark_it_to_market()
    {
        await using var host = await StartAsync();
        await host.ConfigureAsync(Spec());
        await host.DeliverAsync(Topics.Executions, host.Fill(DirectiveAction.Open, OrderSide.Buy, 0.2, 1.1));

        await host.DeliverAsync(Topics.Bars, BarClosed(1.105));
        var marked = await host.StateAsync();
        // A bar backfilled after it, from two hours before, is older news: it marks nothing.
        await host.DeliverAsync(Topics.Bars, BarClosed(1.05, Start.AddHours(-2)));
        var afterBackfill = await host.StateAsync();
        await host.DeliverAsync(Topics.Signals, SignalGenerated(Signal("sig-sell", SignalDirection.Sell)));

        Assert.Equal((10_100.0, 1), (marked.Equity, marked.OpenPositions)); // +50 pips x 10 x 0.2
        Assert.Equal(10_100.0, afterBackfill.Equity);
        var directive = Assert.Single(await host.DirectivesAsync());
        Assert.Equal((DirectiveAction.Close, OrderSide.Sell, 0.2), (directive.Action, directive.Side, directive.Volume));
        Assert.Null(directive.Sl);
    }

    [Fact]
    public async Task A_changed_reset_token_in_the_spec_resets_once()
    {
        await using var host = await StartAsync();
        await host.ConfigureAsync(Spec() with { BreakerResetToken = "first" });
        for (var i = 0; i < 3; i++)
        {
            await host.DeliverAsync(Topics.Executions, host.Fill(DirectiveAction.Open, OrderSide.Buy, 0.1, 1.1, ExecutionOutcome.Failed));
        }

        await host.ConfigureAsync(Spec() with { BreakerResetToken = "second" });
        await host.ConfigureAsync(Spec() with { BreakerResetToken = "second" });

        Assert.Equal([BreakerState.Open, BreakerState.Closed], (await host.BreakerChangesAsync()).Select(c => c.State));
        Assert.Equal("second", (await host.StateAsync()).LastResetToken);
        Assert.Equal(1, await host.CountAsync("SELECT count(*) FROM risk.audit WHERE action = 'breaker-reset' AND key_name = 'spec'"));
    }
}
