using DistortSignals.Core.Accounts;
using DistortSignals.Core.Execution;
using DistortSignals.Core.Risk;
using DistortSignals.Core.Strategies;
using static DistortSignals.Core.Tests.Risk.RiskFixtures;

namespace DistortSignals.Core.Tests.Risk;

/// <summary>
/// The check chain. Unless a case says otherwise: 10,000 of equity, 1% risk (100), EURUSD bought at 1.1000 with
/// the stop at 1.0950 (50 pips, 10 per pip and lot), so fixed fractional gives 100 / (50 x 10) = 0.2 lots.
/// </summary>
public sealed class RiskEngineTests
{
    [Fact]
    public void A_plain_signal_is_allowed_at_the_fixed_fractional_size()
    {
        var evaluation = RiskEngine.Decide(State(), Profile(), Signal(), Now);

        Assert.Equal((RiskVerdict.Allow, DirectiveAction.Open, 0.2), (evaluation.Verdict, evaluation.Action, evaluation.Lots));
        Assert.Equal(
            ["kill-switch", "breaker", "signal-age", "instrument", "duplicate", "reversal", "open-positions", "equity", "sizing", "exposure", "lot-limits"],
            evaluation.Checks.Select(c => c.Name));
        Assert.All(evaluation.Checks, c => Assert.Equal(CheckResult.Pass, c.Result));
        Assert.Equal("EURUSD: pip 0.0001, pip value 10 per lot", Check(evaluation, "instrument").Reason);
    }

    [Theory]
    [InlineData(1.0, 1.0950, 0.01, 0.2)]     // 100 / 500
    [InlineData(1.5, 1.0950, 0.01, 0.3)]     // 150 / 500 = 0.3 exactly: stays 0.30 although 0.3 / 0.01 is 29.999...
    [InlineData(1.0, 1.0970, 0.01, 0.33)]    // 100 / 300 = 0.3333 rounds down
    [InlineData(1.0, 1.0970, 0.1, 0.3)]      // the same at a 0.1 step
    [InlineData(1.0, 1.0990, 0.01, 1.0)]     // 10 pips: 100 / 100
    [InlineData(2.0, 1.0930, 0.01, 0.28)]    // 200 / 700 = 0.2857
    public void Fixed_fractional_sizes_from_the_stop_and_rounds_down_at_the_lot_step(double riskPct, double stop, double step, double lots)
    {
        var profile = Profile(new RiskLimits { RiskPerTradePct = riskPct, MaxExposurePct = 10_000 }, Fx("EURUSD", lotStep: step, minLot: step));

        var evaluation = RiskEngine.Decide(State(profile), profile, Signal(stop: stop), Now);

        Assert.Equal(RiskVerdict.Allow, evaluation.Verdict);
        Assert.Equal(lots, evaluation.Lots, 10);
    }

    [Theory]
    [InlineData(1.1)]
    [InlineData(double.NaN)]
    public void A_stop_distance_of_zero_or_none_blocks(double stop)
    {
        var evaluation = RiskEngine.Decide(State(), Profile(), Signal(stop: stop), Now);

        Assert.Equal((RiskVerdict.Block, 0.0), (evaluation.Verdict, evaluation.Lots));
        Assert.Contains("stop distance", Check(evaluation, "sizing").Reason);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-50.0)]
    [InlineData(double.NaN)]
    public void Zero_negative_or_missing_equity_blocks(double equity)
    {
        var state = State() with { HeartbeatEquity = equity };

        var evaluation = RiskEngine.Decide(state, Profile(), Signal(), Now);

        Assert.Equal(RiskVerdict.Block, evaluation.Verdict);
        Assert.Equal(CheckResult.Block, Check(evaluation, "equity").Result);
    }

    [Fact]
    public void A_symbol_without_a_contract_spec_is_blocked_with_the_reason()
    {
        var evaluation = RiskEngine.Decide(State(), Profile(), Signal("USDJPY", entry: 150, stop: 149.5), Now);

        Assert.Equal(RiskVerdict.Block, evaluation.Verdict);
        Assert.Equal("the account has no contract spec for USDJPY; it never trades a symbol without one", Check(evaluation, "instrument").Reason);
    }

    [Fact]
    public void The_kill_switch_blocks_before_anything_else()
    {
        var evaluation = RiskEngine.Decide(State() with { TradingEnabled = false }, Profile(), Signal(), Now);

        Assert.Equal(RiskVerdict.Block, evaluation.Verdict);
        Assert.Equal(new RiskCheck("kill-switch", CheckResult.Block, "trading is disabled for the account"), Assert.Single(evaluation.Checks));
    }

    [Theory]
    [InlineData(null, 59 * 60, true, "59 min old, at most 60 min")]
    [InlineData(null, 61 * 60, false, "the signal's bar closed at 2026-03-18 15:00:00Z, 61 min ago; the account takes signals up to 60 min old")]
    [InlineData(120, 120, true, "120 s old, at most 120 s")]
    [InlineData(120, 121, false, "the signal's bar closed at 2026-03-18 15:00:00Z, 121 s ago; the account takes signals up to 120 s old")]
    [InlineData(0, 30 * 86_400, true, "no limit")]
    [InlineData(null, -300, true, "0 s old, at most 60 min")]
    public void A_signal_older_than_the_accounts_limit_is_blocked(int? maxSignalAgeSeconds, int secondsSinceItsBarClosed, bool allowed, string reason)
    {
        var profile = Profile(new RiskLimits { MaxSignalAgeSeconds = maxSignalAgeSeconds });
        var now = Now.AddSeconds(secondsSinceItsBarClosed);

        var evaluation = RiskEngine.Decide(Breakers.Advance(new AccountRiskState(), profile, now), profile, Signal(), now);

        Assert.Equal((allowed ? RiskVerdict.Allow : RiskVerdict.Block, reason), (evaluation.Verdict, Check(evaluation, "signal-age").Reason));
        Assert.Equal(allowed ? CheckResult.Pass : CheckResult.Block, Check(evaluation, "signal-age").Result);
    }

    [Fact]
    public void An_open_breaker_blocks_and_a_half_open_one_allows_one_trial_at_half_size()
    {
        var open = State() with { Breaker = new BreakerStatus(BreakerState.Open, BreakerKind.DailyLoss, "daily P&L -3%", Now, Now.AddHours(2)) };
        var halfOpen = State() with { Breaker = new BreakerStatus(BreakerState.HalfOpen, BreakerKind.ConsecutiveLosses, "cool-down over", Now, null) };
        var trialInFlight = halfOpen with { Pending = [new PendingOrder("d-1", "GBPUSD", SignalDirection.Buy, DirectiveAction.Open, 0.1, 1.25, true)] };

        var blocked = RiskEngine.Decide(open, Profile(), Signal(), Now);
        var trial = RiskEngine.Decide(halfOpen, Profile(), Signal(), Now);
        var second = RiskEngine.Decide(trialInFlight, Profile(), Signal(), Now);

        Assert.Equal((RiskVerdict.Block, CheckResult.Block), (blocked.Verdict, Check(blocked, "breaker").Result));
        Assert.Equal((RiskVerdict.Reduce, 0.1, true), (trial.Verdict, trial.Lots, trial.HalfOpenTrial));
        Assert.Equal(CheckResult.Reduce, Check(trial, "breaker").Result);
        Assert.Equal(RiskVerdict.Block, second.Verdict);
        Assert.Equal("half-open: the trial trade is still in flight", Check(second, "breaker").Reason);
    }

    [Fact]
    public void While_the_trial_position_is_open_only_the_signal_closing_it_passes_the_half_open_breaker()
    {
        var halfOpen = State() with
        {
            Breaker = new BreakerStatus(BreakerState.HalfOpen, BreakerKind.ConsecutiveLosses, "cool-down over", Now, null),
            Positions = [new OpenPosition("EURUSD", SignalDirection.Buy, 0.1, 1.1, Now, "d-1", HalfOpenTrial: true)],
        };

        var second = RiskEngine.Decide(halfOpen, Profile(), Signal("GBPUSD", entry: 1.25, stop: 1.245), Now);
        var closing = RiskEngine.Decide(halfOpen, Profile(), Signal(direction: SignalDirection.Sell, stop: 1.105), Now);

        Assert.Equal((RiskVerdict.Block, "half-open: the trial trade is still in flight"), (second.Verdict, Check(second, "breaker").Reason));
        Assert.Equal((RiskVerdict.Allow, DirectiveAction.Close, 0.1), (closing.Verdict, closing.Action, closing.Lots));
        Assert.Equal(CheckResult.Pass, Check(closing, "breaker").Result);
    }

    [Fact]
    public void The_same_direction_open_or_pending_is_a_duplicate()
    {
        var withPosition = State() with { Positions = [new OpenPosition("EURUSD", SignalDirection.Buy, 0.2, 1.09, Now, "d-0")] };
        var withPending = State() with { Pending = [new PendingOrder("d-0", "EURUSD", SignalDirection.Buy, DirectiveAction.Open, 0.2, 1.09, false)] };

        Assert.Equal(CheckResult.Block, Check(RiskEngine.Decide(withPosition, Profile(), Signal(), Now), "duplicate").Result);
        Assert.Equal(CheckResult.Block, Check(RiskEngine.Decide(withPending, Profile(), Signal(), Now), "duplicate").Result);
    }

    [Fact]
    public void An_opposite_signal_closes_the_open_position()
    {
        var state = State() with { Positions = [new OpenPosition("EURUSD", SignalDirection.Sell, 0.5, 1.12, Now, "d-0")] };

        var evaluation = RiskEngine.Decide(state, Profile(), Signal(), Now);

        Assert.Equal((RiskVerdict.Allow, DirectiveAction.Close, 0.5), (evaluation.Verdict, evaluation.Action, evaluation.Lots));
        Assert.Equal("reversal", evaluation.Checks[^1].Name);
    }

    [Theory]
    [InlineData(2, 2, false)]
    [InlineData(2, 3, true)]
    [InlineData(1, 1, false)]
    [InlineData(1, 2, true)]
    public void Open_and_pending_positions_count_against_the_limit(int open, int limit, bool allowed)
    {
        var profile = Profile(new RiskLimits { MaxOpenPositions = limit }, Fx("EURUSD"), Fx("GBPUSD"), Fx("AUDUSD"));
        var state = State(profile) with
        {
            Positions = [new OpenPosition("GBPUSD", SignalDirection.Buy, 0.01, 1.25, Now, "d-1")],
            Pending = open == 2 ? [new PendingOrder("d-2", "AUDUSD", SignalDirection.Sell, DirectiveAction.Open, 0.01, 0.65, false)] : [],
        };

        var evaluation = RiskEngine.Decide(state, profile, Signal(), Now);

        Assert.Equal(allowed ? CheckResult.Pass : CheckResult.Block, Check(evaluation, "open-positions").Result);
    }

    [Theory]
    [InlineData(0, 0.2)]   // 10,000 x 1% / 500
    [InlineData(0.5, 0.15)] // 1% x (1 - 0.25) = 0.75%: 75 / 500
    [InlineData(1, 0.1)]   // 0.5%: 50 / 500
    public void Volatility_adjusted_sizing_risks_less_as_the_ATR_percentile_rises(double percentile, double lots)
    {
        var profile = Profile(new RiskLimits { Sizing = SizingMethod.VolatilityAdjusted });

        Assert.Equal(lots, RiskEngine.Decide(State(profile), profile, Signal(atrPercentile: percentile), Now).Lots, 10);
    }

    public static TheoryData<int, double, int, double, RiskVerdict, double> KellyCases => new()
    {
        // 18 wins of 200, 12 losses of 100: W = 0.6, R = 2, Kelly = 0.6 - 0.4 / 2 = 0.4
        { 18, 200, 12, 0.05, RiskVerdict.Allow, 0.4 },  // 0.4 x 0.05 = 2% (under the 5% cap): 200 / 500
        { 18, 200, 12, 0.25, RiskVerdict.Allow, 1.0 },  // 0.4 x 0.25 = 10%, capped at 5%: 500 / 500
        { 17, 200, 12, 0.05, RiskVerdict.Allow, 1.0 },  // 29 trades: fixed fractional 5%
        { 10, 100, 20, 0.25, RiskVerdict.Block, 0 },    // W = 1/3, R = 1: Kelly = 1/3 - 2/3 < 0, no edge
    };

    [Theory]
    [MemberData(nameof(KellyCases))]
    public void Kelly_sizes_from_the_accounts_own_trades(int wins, double winAmount, int losses, double fraction, RiskVerdict verdict, double lots)
    {
        var trades = Enumerable.Range(0, wins).Select(_ => new ClosedTrade("EURUSD", winAmount, Now, Now))
            .Concat(Enumerable.Range(0, losses).Select(_ => new ClosedTrade("EURUSD", -100, Now, Now)))
            .ToList();
        var profile = Profile(new RiskLimits { Sizing = SizingMethod.Kelly, KellyFraction = fraction, RiskPerTradePct = 5, MaxExposurePct = 10_000 });

        var evaluation = RiskEngine.Decide(State(profile) with { ClosedTrades = trades }, profile, Signal(), Now);

        Assert.Equal(verdict, evaluation.Verdict);
        Assert.Equal(lots, evaluation.Lots, 10);
    }

    [Fact]
    public void Total_exposure_reduces_the_size_to_fit_or_blocks_when_nothing_fits()
    {
        // Limit 300% of 10,000 = 30,000. EURUSD at 1.1 is 110,000 a lot; 0.1 GBPUSD at 1.25 is 12,500.
        var reduced = State() with { Positions = [new OpenPosition("GBPUSD", SignalDirection.Buy, 0.1, 1.25, Now, "d-1")] };
        // 0.236 GBPUSD is 29,500: 500 left is 0.0045 EURUSD lots, under the 0.01 minimum.
        var blocked = State() with { Positions = [new OpenPosition("GBPUSD", SignalDirection.Buy, 0.236, 1.25, Now, "d-1")] };

        var fit = RiskEngine.Decide(reduced, Profile(), Signal(), Now);
        var none = RiskEngine.Decide(blocked, Profile(), Signal(), Now);

        // (30,000 - 12,500) / 110,000 = 0.159 -> 0.15
        Assert.Equal((RiskVerdict.Reduce, 0.15), (fit.Verdict, fit.Lots));
        Assert.Equal(CheckResult.Reduce, Check(fit, "exposure").Result);
        Assert.Equal((RiskVerdict.Block, 0.0), (none.Verdict, none.Lots));
        Assert.Equal(CheckResult.Block, Check(none, "exposure").Result);
    }

    [Fact]
    public void A_correlation_group_has_its_own_limit()
    {
        var profile = Profile(new RiskLimits
        {
            MaxExposurePct = 1000,
            CorrelationGroups = [new CorrelationGroup { Name = "usd", Symbols = ["EURUSD", "GBPUSD"], MaxExposurePct = 200 }],
        });
        var state = State(profile) with { Positions = [new OpenPosition("GBPUSD", SignalDirection.Buy, 0.1, 1.25, Now, "d-1")] };

        var evaluation = RiskEngine.Decide(state, profile, Signal(), Now);

        // Group limit 20,000: (20,000 - 12,500) / 110,000 = 0.068 -> 0.06
        Assert.Equal((RiskVerdict.Reduce, 0.06), (evaluation.Verdict, evaluation.Lots));
        Assert.Equal(CheckResult.Pass, Check(evaluation, "exposure").Result);
        Assert.Equal(CheckResult.Reduce, Check(evaluation, "correlation:usd").Result);
    }

    [Fact]
    public void A_size_under_the_minimum_lot_blocks_and_one_over_the_maximum_is_capped()
    {
        var small = State() with { HeartbeatEquity = 100 };   // 1 / 500 = 0.002 lots
        var profile = Profile(new RiskLimits { MaxExposurePct = 10_000 }, Fx("EURUSD", maxLot: 5));
        var large = State(profile) with { HeartbeatEquity = 500_000 };  // 5,000 / 500 = 10 lots

        var blocked = RiskEngine.Decide(small, Profile(), Signal(), Now);
        var capped = RiskEngine.Decide(large, profile, Signal(), Now);

        Assert.Equal(RiskVerdict.Block, blocked.Verdict);
        Assert.Equal(CheckResult.Block, Check(blocked, "lot-limits").Result);
        Assert.Equal((RiskVerdict.Reduce, 5.0), (capped.Verdict, capped.Lots));
    }

    public static TheoryData<string[], double, bool> PdtCases => new()
    {
        // Now is Wednesday 18 March 2026; the last five business days are 12, 13, 16, 17 and 18 March.
        { ["2026-03-12", "2026-03-16", "2026-03-18"], 10_000, false },
        { ["2026-03-11", "2026-03-16", "2026-03-18"], 10_000, true },   // 11 March is outside the five days
        { ["2026-03-16", "2026-03-18"], 10_000, true },
        { ["2026-03-12", "2026-03-16", "2026-03-18"], 25_000, true },   // at 25,000 the rule does not apply
    };

    [Theory]
    [MemberData(nameof(PdtCases))]
    public void PDT_allows_three_day_trades_in_five_business_days_under_25000(string[] dayTradeDates, double equity, bool allowed)
    {
        var profile = Profile(new RiskLimits { Pdt = new PdtRule { Enabled = true }, MaxExposurePct = 10_000 });
        var trades = dayTradeDates
            .Select(d => DateTimeOffset.Parse(d + "T15:00:00Z"))
            .Select(t => new ClosedTrade("EURUSD", 10, t, t.AddHours(2)))
            .Append(new ClosedTrade("EURUSD", 10, Now.AddDays(-1), Now)) // held overnight: not a day trade
            .ToList();
        var state = State(profile) with { ClosedTrades = trades, HeartbeatEquity = equity };

        var evaluation = RiskEngine.Decide(state, profile, Signal(), Now);

        Assert.Equal(allowed ? CheckResult.Pass : CheckResult.Block, Check(evaluation, "pdt").Result);
    }
}
