namespace DistortSignals.Core.Risk;

/// <summary>
/// The circuit breakers. One breaker status per account: the most severe condition wins (manual, drawdown,
/// broker errors, weekly loss, daily loss, consecutive losses). Daily and weekly loss close at the next day or
/// week reset; consecutive losses go half-open after the cool-down (one trial at half size, a win closes, a loss
/// reopens); drawdown, broker errors and manual stay open until a manual reset.
/// </summary>
public static class Breakers
{
    /// <summary>
    /// Brings the state to <paramref name="now"/>: rolls the daily and weekly windows (their starting equity is
    /// the equity at the roll), raises the peak, ends breakers whose time is up and trips those whose limit is hit.
    /// </summary>
    public static AccountRiskState Advance(AccountRiskState state, RiskProfile profile, DateTimeOffset now)
    {
        var windows = profile.Windows;
        var dayStart = windows.DayStart(now);
        if (state.DayStart != dayStart)
        {
            state = state with { DayStart = dayStart, DayStartEquity = state.Equity };
        }

        var weekStart = windows.WeekStart(now);
        if (state.WeekStart != weekStart)
        {
            state = state with { WeekStart = weekStart, WeekStartEquity = state.Equity };
        }

        if (state.Equity > state.PeakEquity)
        {
            state = state with { PeakEquity = state.Equity };
        }

        var breaker = state.Breaker;
        if (breaker.State == BreakerState.Open && breaker.Until is { } until && now >= until)
        {
            breaker = breaker.Kind == BreakerKind.ConsecutiveLosses
                ? new BreakerStatus(BreakerState.HalfOpen, BreakerKind.ConsecutiveLosses, "cool-down over: one trial at half size", until, null)
                : BreakerStatus.Closed;
        }

        if (Tripped(state, profile, now) is { } tripped && Rank(tripped.Kind) > Rank(breaker))
        {
            breaker = tripped;
        }

        return breaker == state.Breaker ? state : state with { Breaker = breaker };
    }

    /// <summary>An operator opens the breaker by hand: it stays open, above every other breaker, until a manual reset.</summary>
    public static AccountRiskState TripManually(AccountRiskState state, string reason, DateTimeOffset now) =>
        state.Breaker is { State: BreakerState.Open, Kind: BreakerKind.Manual }
            ? state
            : state with { Breaker = new BreakerStatus(BreakerState.Open, BreakerKind.Manual, "manual: " + reason, now, null) };

    /// <summary>
    /// A manual reset: the breaker closes and the account starts afresh (peak, windows and counters from now). A
    /// half-open trial in flight ends with it: its order or position is an ordinary one from now on, so that it
    /// cannot hold back the trial of a later half-open breaker.
    /// </summary>
    public static AccountRiskState Reset(AccountRiskState state) => state with
    {
        Breaker = BreakerStatus.Closed,
        Positions = [.. state.Positions.Select(p => p with { HalfOpenTrial = false })],
        Pending = [.. state.Pending.Select(p => p with { HalfOpenTrial = false })],
        ConsecutiveLosses = 0,
        ConsecutiveBrokerErrors = 0,
        PeakEquity = state.Equity,
        DayStartEquity = state.Equity,
        WeekStartEquity = state.Equity,
    };

    /// <summary>The breaker a closed trade leaves: in half-open, a win closes it and a loss opens it for another cool-down.</summary>
    public static BreakerStatus AfterTrade(BreakerStatus breaker, double pnl, RiskProfile profile, DateTimeOffset now)
    {
        if (breaker.State != BreakerState.HalfOpen || breaker.Kind != BreakerKind.ConsecutiveLosses)
        {
            return breaker;
        }

        return pnl >= 0
            ? BreakerStatus.Closed
            : new BreakerStatus(BreakerState.Open, BreakerKind.ConsecutiveLosses, "the half-open trial lost", now, now.AddMinutes(profile.Limits.CooldownMinutes));
    }

    private static BreakerStatus? Tripped(AccountRiskState state, RiskProfile profile, DateTimeOffset now)
    {
        var limits = profile.Limits;
        if (state.DrawdownPct >= limits.MaxDrawdownPct)
        {
            return Open(BreakerKind.Drawdown, $"drawdown {F(state.DrawdownPct)}% from peak {F(state.PeakEquity)} reached the limit {F(limits.MaxDrawdownPct)}%", now, null);
        }

        if (state.ConsecutiveBrokerErrors >= limits.MaxBrokerErrors)
        {
            return Open(BreakerKind.BrokerErrors, $"{state.ConsecutiveBrokerErrors} rejected or failed executions in a row (limit {limits.MaxBrokerErrors})", now, null);
        }

        if (state.WeeklyPnlPct <= -limits.MaxWeeklyLossPct)
        {
            return Open(BreakerKind.WeeklyLoss, $"weekly P&L {F(state.WeeklyPnlPct)}% reached the limit -{F(limits.MaxWeeklyLossPct)}%", now, profile.Windows.NextWeekReset(now));
        }

        if (state.DailyPnlPct <= -limits.MaxDailyLossPct)
        {
            return Open(BreakerKind.DailyLoss, $"daily P&L {F(state.DailyPnlPct)}% reached the limit -{F(limits.MaxDailyLossPct)}%", now, profile.Windows.NextDayReset(now));
        }

        if (state.ConsecutiveLosses >= limits.MaxConsecutiveLosses)
        {
            return Open(BreakerKind.ConsecutiveLosses, $"{state.ConsecutiveLosses} losing trades in a row (limit {limits.MaxConsecutiveLosses})", now, now.AddMinutes(limits.CooldownMinutes));
        }

        return null;
    }

    private static BreakerStatus Open(BreakerKind kind, string reason, DateTimeOffset now, DateTimeOffset? until) => new(BreakerState.Open, kind, reason, now, until);

    /// <summary>How severe an open or half-open breaker is; a condition trips only over a less severe one.</summary>
    private static int Rank(BreakerStatus breaker) => breaker.State == BreakerState.Closed ? 0 : Rank(breaker.Kind);

    private static int Rank(BreakerKind kind) => kind switch
    {
        BreakerKind.Manual => 6,
        BreakerKind.Drawdown => 5,
        BreakerKind.BrokerErrors => 4,
        BreakerKind.WeeklyLoss => 3,
        BreakerKind.DailyLoss => 2,
        BreakerKind.ConsecutiveLosses => 1,
        _ => 0,
    };

    internal static string F(double value) => Math.Round(value, 2).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
