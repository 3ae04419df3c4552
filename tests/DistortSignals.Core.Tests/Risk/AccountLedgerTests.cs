using DistortSignals.Core.Execution;
using DistortSignals.Core.Risk;
using DistortSignals.Core.Strategies;
using static DistortSignals.Core.Tests.Risk.RiskFixtures;

namespace DistortSignals.Core.Tests.Risk;

/// <summary>Fills, rejections and prices booked into the state. EURUSD: 10 per pip and lot, pip 0.0001.</summary>
public sealed class AccountLedgerTests
{
    private static ExecutionReported Report(string id, DirectiveAction action, OrderSide side, double volume, double? price, ExecutionOutcome outcome = ExecutionOutcome.Filled) => new(
        "r-" + id,
        new TradeDirective(id, "acct", "EURUSD", action, side, OrderType.Market, volume, 1.1, null, null, 10, 1, "DS:" + id, Now, Now.AddMinutes(1), "trend", "sig-1"),
        outcome, 1, outcome == ExecutionOutcome.Filled ? volume : 0, price, 10009, null, Now, "t-1", Now);

    /// <summary>The gateway's update when a terminal's claim on <paramref name="id"/> ended at <see cref="RiskFixtures.Now"/> without a report.</summary>
    private static DirectiveUpdate Lapsed(string id) => new(id, "acct", DirectiveState.Expired, "t-1", "the claim lease ended without a report", Now);

    [Fact]
    public void A_losing_round_trip_realises_its_loss_and_counts_it()
    {
        var profile = Profile();
        var state = AccountLedger.AddPending(State(), new PendingOrder("d-1", "EURUSD", SignalDirection.Buy, DirectiveAction.Open, 0.2, 1.1, false));

        var opened = AccountLedger.ApplyExecution(state, Report("d-1", DirectiveAction.Open, OrderSide.Buy, 0.2, 1.1), profile, Now);
        var marked = AccountLedger.ApplyPrice(opened, "EURUSD", 1.105, Now, profile);
        var closed = AccountLedger.ApplyExecution(marked, Report("d-2", DirectiveAction.Close, OrderSide.Sell, 0.2, 1.095), profile, Now);

        Assert.Empty(opened.Pending);
        Assert.Equal(new OpenPosition("EURUSD", SignalDirection.Buy, 0.2, 1.1, Now, "d-1", LastFillReceivedAt: Now), Assert.Single(opened.Positions));
        Assert.Equal(100, marked.UnrealizedPnl, 6);   // +50 pips x 10 x 0.2
        Assert.Equal(10_100, marked.Equity, 6);
        Assert.Empty(closed.Positions);
        Assert.Equal(-100, closed.RealizedPnl, 6);    // -50 pips x 10 x 0.2
        Assert.Equal((0.0, 1), (closed.UnrealizedPnl, closed.ConsecutiveLosses));
        Assert.Equal(9_900, closed.Equity, 6);
        Assert.Equal(-100, Assert.Single(closed.ClosedTrades).Pnl, 6);
    }

    [Fact]
    public void A_bar_that_ended_before_the_latest_mark_does_not_move_it()
    {
        var profile = Profile();
        var opened = AccountLedger.ApplyExecution(State(), Report("d-1", DirectiveAction.Open, OrderSide.Buy, 0.2, 1.1), profile, Now);

        var marked = AccountLedger.ApplyPrice(opened, "EURUSD", 1.105, Now, profile);
        var backfilled = AccountLedger.ApplyPrice(marked, "EURUSD", 1.05, Now.AddMinutes(-1), profile);
        var sameEnd = AccountLedger.ApplyPrice(backfilled, "EURUSD", 1.104, Now, profile);
        var later = AccountLedger.ApplyPrice(sameEnd, "EURUSD", 1.09, Now.AddMinutes(1), profile);

        Assert.Equal(100, backfilled.UnrealizedPnl, 6);   // still +50 pips x 10 x 0.2, not -500
        Assert.Equal(80, sameEnd.UnrealizedPnl, 6);       // a bar of another timeframe ending at the same time
        Assert.Equal(-200, later.UnrealizedPnl, 6);
    }

    [Fact]
    public void A_lapsed_claim_stays_pending_until_a_later_heartbeat_from_a_connected_terminal_shows_no_position_of_it()
    {
        static AccountHeartbeat Heartbeat(DateTimeOffset at, bool connected, params string[] comments) => new(
            "acct", "t-1", 10_000, 10_000, 0, 10_000,
            [.. comments.Select((c, i) => new TerminalPosition(i + 1, "EURUSD", OrderSide.Buy, 0.2, 1.1, null, null, 0, 7, c))], at, at, connected);
        var pending = AccountLedger.AddPending(State(), new PendingOrder("d-1", "EURUSD", SignalDirection.Buy, DirectiveAction.Open, 0.2, 1.1, false));

        var lapsed = AccountLedger.ApplyDirectiveUpdate(pending, Lapsed("d-1"));
        var earlier = AccountLedger.ApplyHeartbeat(lapsed, Heartbeat(Now.AddSeconds(-1), connected: true), Profile(), Now);
        var disconnected = AccountLedger.ApplyHeartbeat(lapsed, Heartbeat(Now.AddSeconds(5), connected: false), Profile(), Now);
        var holding = AccountLedger.ApplyHeartbeat(lapsed, Heartbeat(Now.AddSeconds(5), connected: true, "DS:d-1"), Profile(), Now);
        var notHolding = AccountLedger.ApplyHeartbeat(lapsed, Heartbeat(Now.AddSeconds(5), connected: true, "DS:d-0", "manual"), Profile(), Now);
        var notLapsed = AccountLedger.ApplyHeartbeat(pending, Heartbeat(Now.AddSeconds(5), connected: true), Profile(), Now);

        Assert.Equal(Now, Assert.Single(lapsed.Pending).LapsedAt);
        Assert.Single(earlier.Pending);       // its positions may be from before the order was sent
        Assert.Single(disconnected.Pending);  // the gateway's last known positions, not the terminal's
        Assert.Single(holding.Pending);       // filled: its execution report books it
        Assert.Empty(notHolding.Pending);
        Assert.Single(notLapsed.Pending);     // a claim still running
    }

    [Fact]
    public void A_lapsed_close_is_ruled_out_by_a_heartbeat_that_still_shows_the_position_it_was_to_close()
    {
        static AccountHeartbeat Heartbeat(params string[] comments) => new(
            "acct", "t-1", 10_000, 10_000, 0, 10_000,
            [.. comments.Select((c, i) => new TerminalPosition(i + 1, "EURUSD", OrderSide.Buy, 0.2, 1.1, null, null, 0, 7, c))], Now.AddSeconds(5), Now.AddSeconds(5), true);
        var opened = AccountLedger.ApplyExecution(State(), Report("d-1", DirectiveAction.Open, OrderSide.Buy, 0.2, 1.1), Profile(), Now);
        var closing = AccountLedger.ApplyDirectiveUpdate(
            AccountLedger.AddPending(opened, new PendingOrder("d-2", "EURUSD", SignalDirection.Sell, DirectiveAction.Close, 0.2, 1.1, false)), Lapsed("d-2"));

        Assert.Empty(AccountLedger.ApplyHeartbeat(closing, Heartbeat("DS:d-1"), Profile(), Now).Pending);   // the position is still open: the close never filled
        Assert.Single(AccountLedger.ApplyHeartbeat(closing, Heartbeat(), Profile(), Now).Pending);         // gone: the close may have filled, its report books it
    }

    [Fact]
    public void The_half_open_trial_is_in_flight_from_its_directive_until_its_position_closes()
    {
        var profile = Profile();
        var pending = AccountLedger.AddPending(State(), new PendingOrder("d-1", "EURUSD", SignalDirection.Buy, DirectiveAction.Open, 0.1, 1.1, true));

        var opened = AccountLedger.ApplyExecution(pending, Report("d-1", DirectiveAction.Open, OrderSide.Buy, 0.1, 1.1), profile, Now);
        var closed = AccountLedger.ApplyExecution(opened, Report("d-2", DirectiveAction.Close, OrderSide.Sell, 0.1, 1.101), profile, Now);

        Assert.True(pending.HalfOpenTrialInFlight);
        Assert.True(Assert.Single(opened.Positions).HalfOpenTrial);
        Assert.True(opened.HalfOpenTrialInFlight);
        Assert.False(closed.HalfOpenTrialInFlight);
    }

    [Fact]
    public void A_short_wins_when_the_price_falls_and_a_win_resets_the_loss_count()
    {
        var profile = Profile();
        var opened = AccountLedger.ApplyExecution(State() with { ConsecutiveLosses = 3 }, Report("d-1", DirectiveAction.Open, OrderSide.Sell, 0.5, 1.1), profile, Now);

        var closed = AccountLedger.ApplyExecution(opened, Report("d-2", DirectiveAction.Close, OrderSide.Buy, 0.5, 1.098), profile, Now);

        Assert.Equal(100, closed.RealizedPnl, 6);   // 20 pips x 10 x 0.5
        Assert.Equal(0, closed.ConsecutiveLosses);
    }

    [Fact]
    public void Rejections_count_as_broker_errors_until_a_fill()
    {
        var profile = Profile();
        var state = AccountLedger.AddPending(State(), new PendingOrder("d-1", "EURUSD", SignalDirection.Buy, DirectiveAction.Open, 0.2, 1.1, false));

        var rejected = AccountLedger.ApplyExecution(state, Report("d-1", DirectiveAction.Open, OrderSide.Buy, 0.2, null, ExecutionOutcome.Rejected), profile, Now);
        var failed = AccountLedger.ApplyExecution(rejected, Report("d-2", DirectiveAction.Open, OrderSide.Buy, 0.2, null, ExecutionOutcome.Failed), profile, Now);
        var filled = AccountLedger.ApplyExecution(failed, Report("d-3", DirectiveAction.Open, OrderSide.Buy, 0.2, 1.1), profile, Now);

        Assert.Empty(rejected.Pending);
        Assert.Equal((1, 2, 0), (rejected.ConsecutiveBrokerErrors, failed.ConsecutiveBrokerErrors, filled.ConsecutiveBrokerErrors));
    }

    /// <summary>A heartbeat received at <paramref name="at"/> with 9,900 of equity and balance, listing EURUSD positions.</summary>
    private static AccountHeartbeat Held(DateTimeOffset at, bool connected = true, params (OrderSide Side, double Volume, string Comment)[] positions) => new(
        "acct", "t-1", 9_900, 9_900, 0, 9_900,
        [.. positions.Select((p, i) => new TerminalPosition(i + 1, "EURUSD", p.Side, p.Volume, 1.1, 1.095, null, 0, 7, p.Comment))], at, at, connected);

    [Fact]
    public void A_position_a_later_heartbeat_no_longer_shows_is_booked_closed_at_its_last_mark()
    {
        var profile = Profile();
        var opened = AccountLedger.ApplyExecution(State(), Report("d-1", DirectiveAction.Open, OrderSide.Buy, 0.2, 1.1), profile, Now);
        var marked = AccountLedger.ApplyPrice(opened, "EURUSD", 1.095, Now, profile);
        var later = Now.AddSeconds(5);

        var stopped = AccountLedger.ApplyHeartbeat(marked, Held(later), profile, later);
        var halfStopped = AccountLedger.ApplyHeartbeat(marked, Held(later, true, (OrderSide.Buy, 0.1, "DS:d-1")), profile, later);

        Assert.Empty(stopped.Positions);
        var trade = Assert.Single(stopped.ClosedTrades);
        Assert.Equal(-100, trade.Pnl, 6);   // -50 pips x 10 x 0.2, at the mark
        Assert.Equal((Now, later), (trade.OpenedAt, trade.ClosedAt));
        Assert.Equal(-100, stopped.RealizedPnl, 6);
        Assert.Equal(1, stopped.ConsecutiveLosses);
        Assert.Equal((9_900.0, 9_900.0), (stopped.Equity, stopped.Balance));   // the terminal's figures hold the close once
        Assert.Equal(0.1, Assert.Single(halfStopped.Positions).Lots, 6);
        Assert.Equal(-50, Assert.Single(halfStopped.ClosedTrades).Pnl, 6);
    }

    [Fact]
    public void A_heartbeat_closes_nothing_it_cannot_have_seen_or_that_an_order_will_report()
    {
        var profile = Profile();
        var opened = AccountLedger.ApplyExecution(State(), Report("d-1", DirectiveAction.Open, OrderSide.Buy, 0.2, 1.1), profile, Now);
        var later = Now.AddSeconds(5);
        var closing = AccountLedger.AddPending(opened, new PendingOrder("d-2", "EURUSD", SignalDirection.Sell, DirectiveAction.Close, 0.2, 1.1, false));
        var bookedBeforeItWasKept = opened with { Positions = [opened.Positions[0] with { OpenedAt = Now.AddSeconds(10), LastFillReceivedAt = null }] };

        Assert.Single(AccountLedger.ApplyHeartbeat(opened, Held(Now), profile, later).Positions);        // received with the fill's report, not after it
        Assert.Single(AccountLedger.ApplyHeartbeat(opened, Held(later, connected: false), profile, later).Positions);   // the gateway's last known figures
        Assert.Single(AccountLedger.ApplyHeartbeat(opened, Held(later, true, (OrderSide.Buy, 0.2, "manual")), profile, later).Positions);   // held, whatever the comment
        Assert.Empty(AccountLedger.ApplyHeartbeat(opened, Held(later, true, (OrderSide.Sell, 0.2, "DS:d-1")), profile, later).Positions);   // the other side is not this position
        Assert.Single(AccountLedger.ApplyHeartbeat(closing, Held(later), profile, later).Positions);     // the close's report books it
        Assert.Single(AccountLedger.ApplyHeartbeat(bookedBeforeItWasKept, Held(later), profile, later).Positions);   // then the fill's own time counts
    }

    [Fact]
    public void A_heartbeat_replaces_the_computed_equity()
    {
        var heartbeat = new AccountHeartbeat("acct", "t-1", 12_345, 12_000, 100, 12_245, [], Now, Now, true);

        var state = AccountLedger.ApplyHeartbeat(State() with { RealizedPnl = -50, RealizedSinceHeartbeat = -50 }, heartbeat, Profile(), Now);

        Assert.Equal((12_345.0, 12_000.0), (state.Equity, state.Balance));
    }
}
