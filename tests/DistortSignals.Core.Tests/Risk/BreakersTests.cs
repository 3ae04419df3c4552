using DistortSignals.Core.Accounts;
using DistortSignals.Core.Execution;
using DistortSignals.Core.Risk;
using DistortSignals.Core.Strategies;
using static DistortSignals.Core.Tests.Risk.RiskFixtures;

namespace DistortSignals.Core.Tests.Risk;

/// <summary>
/// The breakers with the default limits (daily 3%, weekly 6%, drawdown 10%, 4 losses, 60 min cool-down, 3 broker
/// errors). Now is Wednesday 18 March 2026 15:00Z (11:00 EDT): the day began 17 March 21:00Z and ends 18 March
/// 21:00Z; the week began Sunday 15 March 21:00Z and ends 22 March 21:00Z.
/// </summary>
public sealed class BreakersTests
{
    private static readonly DateTimeOffset DayEnd = DateTimeOffset.Parse("2026-03-18T21:00:00Z");
    private static readonly DateTimeOffset WeekEnd = DateTimeOffset.Parse("2026-03-22T21:00:00Z");

    [Theory]
    [InlineData(9_701, BreakerState.Closed, BreakerKind.None)]       // -2.99%
    [InlineData(9_700, BreakerState.Open, BreakerKind.DailyLoss)]    // -3%
    [InlineData(9_400, BreakerState.Open, BreakerKind.WeeklyLoss)]   // -6% today is also -6% this week: the weekly one is more severe
    [InlineData(9_000, BreakerState.Open, BreakerKind.Drawdown)]     // -10% from the 10,000 peak
    public void Losses_against_the_windows_and_the_peak_trip_the_breakers(double equity, BreakerState state, BreakerKind kind)
    {
        var advanced = Breakers.Advance(State() with { HeartbeatEquity = equity }, Profile(), Now);

        Assert.Equal((state, kind), (advanced.Breaker.State, advanced.Breaker.Kind));
    }

    [Fact]
    public void The_daily_breaker_stays_open_until_the_next_day_reset_and_the_new_day_starts_from_the_equity_then()
    {
        var tripped = Breakers.Advance(State() with { HeartbeatEquity = 9_700 }, Profile(), Now);

        var beforeReset = Breakers.Advance(tripped, Profile(), DayEnd.AddTicks(-1));
        var atReset = Breakers.Advance(tripped, Profile(), DayEnd);

        Assert.Equal(new BreakerStatus(BreakerState.Open, BreakerKind.DailyLoss, "daily P&L -3% reached the limit -3%", Now, DayEnd), tripped.Breaker);
        Assert.Equal(BreakerState.Open, beforeReset.Breaker.State);
        Assert.Equal(BreakerStatus.Closed, atReset.Breaker);
        Assert.Equal((DayEnd, 9_700.0, 0.0), (atReset.DayStart!.Value, atReset.DayStartEquity, atReset.DailyPnlPct));
    }

    [Fact]
    public void The_weekly_breaker_opens_until_the_Sunday_reset()
    {
        // Lost 3.5% on Monday and 2.5% today: today alone is under the daily limit, the week is at -6%.
        var state = State() with { WeekStartEquity = 10_000, DayStartEquity = 9_650, HeartbeatEquity = 9_400 };

        var advanced = Breakers.Advance(state, Profile(), Now);

        Assert.Equal((BreakerState.Open, BreakerKind.WeeklyLoss, WeekEnd), (advanced.Breaker.State, advanced.Breaker.Kind, advanced.Breaker.Until!.Value));
    }

    [Fact]
    public void The_drawdown_breaker_stays_open_until_a_manual_reset_which_starts_afresh()
    {
        var state = State() with { PeakEquity = 12_000, HeartbeatEquity = 10_800, DayStartEquity = 10_800, WeekStartEquity = 10_800 };

        var tripped = Breakers.Advance(state, Profile(), Now);
        var aYearLater = Breakers.Advance(tripped, Profile(), Now.AddDays(365));
        var reset = Breakers.Advance(Breakers.Reset(tripped), Profile(), Now);

        Assert.Equal((BreakerState.Open, BreakerKind.Drawdown, (DateTimeOffset?)null), (tripped.Breaker.State, tripped.Breaker.Kind, tripped.Breaker.Until));
        Assert.Equal(BreakerKind.Drawdown, aYearLater.Breaker.Kind);
        Assert.Equal((BreakerStatus.Closed, 10_800.0), (reset.Breaker, reset.PeakEquity));
    }

    [Fact]
    public void A_manual_reset_ends_a_trial_in_flight_so_it_cannot_hold_back_a_later_trial()
    {
        var state = State() with
        {
            Breaker = new BreakerStatus(BreakerState.HalfOpen, BreakerKind.ConsecutiveLosses, "trial", Now, null),
            Positions = [new OpenPosition("EURUSD", SignalDirection.Buy, 0.1, 1.1, Now, "d-trial", HalfOpenTrial: true)],
            Pending = [new PendingOrder("d-open", "GBPUSD", SignalDirection.Sell, DirectiveAction.Open, 0.1, 1.3, HalfOpenTrial: true)],
        };
        Assert.True(state.HalfOpenTrialInFlight);

        var reset = Breakers.Reset(state);

        Assert.False(reset.HalfOpenTrialInFlight);
        Assert.Equal(("EURUSD", 0.1, "GBPUSD"), (reset.Positions.Single().Symbol, reset.Positions.Single().Lots, reset.Pending.Single().Symbol));
    }

    [Fact]
    public void Consecutive_losses_open_for_the_cool_down_then_half_open_a_win_closes_and_a_loss_reopens()
    {
        var profile = Profile();
        var tripped = Breakers.Advance(State() with { ConsecutiveLosses = 4 }, profile, Now);
        var cooling = Breakers.Advance(tripped, profile, Now.AddMinutes(59));
        var halfOpen = Breakers.Advance(tripped, profile, Now.AddMinutes(60));
        var later = Now.AddMinutes(90);

        Assert.Equal((BreakerState.Open, BreakerKind.ConsecutiveLosses, Now.AddMinutes(60)), (tripped.Breaker.State, tripped.Breaker.Kind, tripped.Breaker.Until!.Value));
        Assert.Equal(BreakerState.Open, cooling.Breaker.State);
        Assert.Equal((BreakerState.HalfOpen, BreakerKind.ConsecutiveLosses), (halfOpen.Breaker.State, halfOpen.Breaker.Kind));
        Assert.Equal(BreakerStatus.Closed, Breakers.AfterTrade(halfOpen.Breaker, 25, profile, later));
        Assert.Equal(
            new BreakerStatus(BreakerState.Open, BreakerKind.ConsecutiveLosses, "the half-open trial lost", later, later.AddMinutes(60)),
            Breakers.AfterTrade(halfOpen.Breaker, -25, profile, later));
    }

    [Theory]
    [InlineData(2, BreakerState.Closed)]
    [InlineData(3, BreakerState.Open)]
    public void Repeated_broker_errors_open_the_breaker(int errors, BreakerState state)
    {
        var advanced = Breakers.Advance(State() with { ConsecutiveBrokerErrors = errors }, Profile(), Now);

        Assert.Equal(state, advanced.Breaker.State);
        Assert.Equal(errors == 3 ? BreakerKind.BrokerErrors : BreakerKind.None, advanced.Breaker.Kind);
    }

    [Fact]
    public void A_more_severe_condition_replaces_an_open_cool_down_but_not_the_other_way()
    {
        var cooling = Breakers.Advance(State() with { ConsecutiveLosses = 4 }, Profile(), Now);
        var daily = Breakers.Advance(cooling with { HeartbeatEquity = 9_700 }, Profile(), Now.AddMinutes(1));
        var stillDaily = Breakers.Advance(daily with { ConsecutiveLosses = 5 }, Profile(), Now.AddMinutes(2));

        Assert.Equal(BreakerKind.DailyLoss, daily.Breaker.Kind);
        Assert.Equal(BreakerKind.DailyLoss, stillDaily.Breaker.Kind);
    }

    [Fact]
    public void A_manual_breaker_blocks_until_reset()
    {
        var manual = State() with { Breaker = new BreakerStatus(BreakerState.Open, BreakerKind.Manual, "operator", Now, null) };

        Assert.Equal(BreakerKind.Manual, Breakers.Advance(manual with { HeartbeatEquity = 8_000 }, Profile(new RiskLimits()), Now.AddDays(3)).Breaker.Kind);
    }
}
