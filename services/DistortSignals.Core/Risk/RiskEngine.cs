using System.Globalization;
using DistortSignals.Core.Accounts;
using DistortSignals.Core.Execution;
using DistortSignals.Core.Market;
using DistortSignals.Core.Strategies;

namespace DistortSignals.Core.Risk;

/// <summary>The outcome of the check chain: the verdict, whether it opens or closes, the lots and every check that ran.</summary>
public sealed record RiskEvaluation(RiskVerdict Verdict, DirectiveAction Action, double Lots, IReadOnlyList<RiskCheck> Checks, bool HalfOpenTrial);

/// <summary>
/// The check chain of DESIGN.md section 5 for one signal on one account: kill switch, breaker, signal age, instrument,
/// duplicate, reversal, open positions, equity, sizing, exposure (total and per correlation group), PDT, lot
/// limits. A BLOCK ends the chain; REDUCE results shrink the size and make the verdict REDUCE. An opposite
/// signal on an open position ends the chain with a CLOSE of that position. Pure: the state must already be
/// brought to <c>now</c> by <see cref="Breakers.Advance"/>.
/// </summary>
public static class RiskEngine
{
    /// <summary>Kelly sizing needs at least this many closed trades; with fewer it falls back to fixed fractional.</summary>
    public const int KellyMinTrades = 30;

    /// <summary>Under this equity the PDT rule limits day trades.</summary>
    public const double PdtMinEquity = 25_000;

    public const int PdtMaxDayTrades = 3;

    public const int PdtBusinessDays = 5;

    public static RiskEvaluation Decide(AccountRiskState state, RiskProfile profile, Signal signal, DateTimeOffset now)
    {
        var checks = new List<RiskCheck>(12);
        var limits = profile.Limits;

        if (!state.TradingEnabled)
        {
            return Blocked(checks, "kill-switch", "trading is disabled for the account");
        }

        checks.Add(Pass("kill-switch", "trading is enabled"));

        var halfOpenTrial = false;
        switch (state.Breaker.State)
        {
            case BreakerState.Open:
                return Blocked(checks, "breaker", $"the {state.Breaker.Kind} breaker is open: {state.Breaker.Reason}");
            case BreakerState.HalfOpen when state.Positions.Any(p => p.HalfOpenTrial && p.Symbol == signal.Symbol && p.Direction != signal.Direction):
                checks.Add(Pass("breaker", "half-open: the signal closes the trial position, whose result decides the breaker"));
                break;
            case BreakerState.HalfOpen when state.HalfOpenTrialInFlight:
                return Blocked(checks, "breaker", "half-open: the trial trade is still in flight");
            case BreakerState.HalfOpen:
                halfOpenTrial = true;
                checks.Add(new("breaker", CheckResult.Reduce, "half-open: one trial at half size"));
                break;
            default:
                checks.Add(Pass("breaker", "closed"));
                break;
        }

        var age = now - signal.Time;
        var maxAge = limits.MaxSignalAgeSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : signal.Timeframe.Duration();
        if (maxAge > TimeSpan.Zero && age > maxAge)
        {
            return Blocked(checks, "signal-age", $"the signal's bar closed at {signal.Time:u}, {Age(age)} ago; the account takes signals up to {Age(maxAge)} old");
        }

        checks.Add(Pass("signal-age", maxAge > TimeSpan.Zero ? $"{Age(age)} old, at most {Age(maxAge)}" : "no limit"));

        if (profile.Instrument(signal.Symbol) is not { } instrument)
        {
            return Blocked(checks, "instrument", $"the account has no contract spec for {signal.Symbol}; it never trades a symbol without one");
        }

        checks.Add(Pass("instrument", $"{signal.Symbol}: pip {instrument.PipSize.ToString(CultureInfo.InvariantCulture)}, pip value {F(instrument.PipValuePerLot)} per lot"));

        var position = state.Positions.FirstOrDefault(p => p.Symbol == signal.Symbol);
        if (position?.Direction == signal.Direction
            || state.Pending.Any(p => p.Symbol == signal.Symbol && p.Action == DirectiveAction.Open && p.Direction == signal.Direction))
        {
            return Blocked(checks, "duplicate", $"a {signal.Direction} position or order in {signal.Symbol} is already open or pending");
        }

        if (state.Pending.Any(p => p.Symbol == signal.Symbol))
        {
            return Blocked(checks, "duplicate", $"another order in {signal.Symbol} is pending");
        }

        checks.Add(Pass("duplicate", $"nothing {signal.Direction} open or pending in {signal.Symbol}"));

        if (position is not null)
        {
            checks.Add(Pass("reversal", $"the {signal.Direction} signal closes the open {position.Direction} position of {F(position.Lots)} lots"));
            return new RiskEvaluation(RiskVerdict.Allow, DirectiveAction.Close, position.Lots, checks, false);
        }

        checks.Add(Pass("reversal", "no opposite position to close"));

        var open = state.Positions.Count + state.Pending.Count(p => p.Action == DirectiveAction.Open);
        if (open >= limits.MaxOpenPositions)
        {
            return Blocked(checks, "open-positions", $"{open} positions open or pending; the limit is {limits.MaxOpenPositions}");
        }

        checks.Add(Pass("open-positions", $"{open} of {limits.MaxOpenPositions} open or pending"));

        var equity = state.Equity;
        if (!double.IsFinite(equity) || equity <= 0)
        {
            return Blocked(checks, "equity", $"equity is {F(equity)}; sizing needs a positive equity");
        }

        checks.Add(Pass("equity", F(equity)));

        var sizing = Size(state, profile, instrument, signal, equity);
        checks.Add(sizing.Check);
        if (sizing.Check.Result == CheckResult.Block)
        {
            return Verdict(checks, 0, halfOpenTrial);
        }

        var lots = halfOpenTrial ? sizing.Lots / 2 : sizing.Lots;

        var exposure = Exposure(state, profile, instrument, signal, equity, lots, "exposure", limits.MaxExposurePct, _ => true);
        checks.Add(exposure.Check);
        lots = exposure.Lots;
        if (exposure.Check.Result == CheckResult.Block)
        {
            return Verdict(checks, 0, halfOpenTrial);
        }

        foreach (var group in limits.CorrelationGroups.Where(g => g.Symbols.Contains(signal.Symbol, StringComparer.Ordinal)))
        {
            var grouped = Exposure(state, profile, instrument, signal, equity, lots, "correlation:" + group.Name, group.MaxExposurePct,
                symbol => group.Symbols.Contains(symbol, StringComparer.Ordinal));
            checks.Add(grouped.Check);
            lots = grouped.Lots;
            if (grouped.Check.Result == CheckResult.Block)
            {
                return Verdict(checks, 0, halfOpenTrial);
            }
        }

        if (limits.Pdt.Enabled)
        {
            var pdt = Pdt(state, profile, equity, now);
            checks.Add(pdt);
            if (pdt.Result == CheckResult.Block)
            {
                return Verdict(checks, 0, halfOpenTrial);
            }
        }

        var rounded = RoundDown(lots, instrument.LotStep);
        if (rounded < instrument.MinLot - Epsilon)
        {
            checks.Add(new("lot-limits", CheckResult.Block, $"{F(lots)} lots round down to {F(rounded)} at step {F(instrument.LotStep)}, below the minimum {F(instrument.MinLot)}"));
            return Verdict(checks, 0, halfOpenTrial);
        }

        if (rounded > instrument.MaxLot)
        {
            checks.Add(new("lot-limits", CheckResult.Reduce, $"{F(rounded)} lots are above the maximum; capped at {F(instrument.MaxLot)}"));
            rounded = RoundDown(instrument.MaxLot, instrument.LotStep);
        }
        else
        {
            checks.Add(Pass("lot-limits", $"{F(lots)} lots round down to {F(rounded)} at step {F(instrument.LotStep)}"));
        }

        return Verdict(checks, rounded, halfOpenTrial);
    }

    /// <summary>Rounds down to a whole number of steps (a size is never rounded up past what the rules allowed).</summary>
    public static double RoundDown(double lots, double step)
    {
        // The epsilon absorbs binary error such as 0.3 / 0.01 = 29.999999999999996.
        var steps = Math.Floor(lots / step + 1e-9);
        return Math.Round(steps * step, 8);
    }

    /// <summary>The equity share the sizing method risks on this signal, in percent, or a block reason.</summary>
    internal static (double Lots, RiskCheck Check) Size(AccountRiskState state, RiskProfile profile, InstrumentSpec instrument, Signal signal, double equity)
    {
        var limits = profile.Limits;
        var stop = Math.Abs(signal.Entry - signal.StopLoss);
        if (!double.IsFinite(stop) || stop <= 0)
        {
            return (0, new("sizing", CheckResult.Block, $"the stop distance is {F(stop)}; a position cannot be sized without a stop"));
        }

        var stopPips = stop / instrument.PipSize;
        string how;
        double riskPct;
        switch (limits.Sizing)
        {
            case SizingMethod.Kelly when state.ClosedTrades.Count >= KellyMinTrades:
                var trades = state.ClosedTrades;
                var wins = trades.Where(t => t.Pnl > 0).Select(t => t.Pnl).ToList();
                var losses = trades.Where(t => t.Pnl < 0).Select(t => -t.Pnl).ToList();
                var winRate = (double)wins.Count / trades.Count;
                var full = losses.Count == 0 ? winRate : wins.Count == 0 ? -1 : winRate - (1 - winRate) / (wins.Average() / losses.Average());
                if (full <= 0)
                {
                    return (0, new("sizing", CheckResult.Block, $"Kelly over {trades.Count} trades is {F(full)}: no edge, no trade"));
                }

                riskPct = Math.Min(full * limits.KellyFraction * 100, limits.RiskPerTradePct);
                how = $"Kelly {F(full)} x {F(limits.KellyFraction)} over {trades.Count} trades, capped at {F(limits.RiskPerTradePct)}%: risk {F(riskPct)}%";
                break;
            case SizingMethod.Kelly:
                riskPct = limits.RiskPerTradePct;
                how = $"fixed fractional {F(riskPct)}% (Kelly needs {KellyMinTrades} closed trades, the account has {state.ClosedTrades.Count})";
                break;
            case SizingMethod.VolatilityAdjusted:
                var percentile = Math.Clamp(double.IsFinite(signal.Regime.AtrPercentile) ? signal.Regime.AtrPercentile : 1, 0, 1);
                riskPct = limits.RiskPerTradePct * (1 - 0.5 * percentile);
                how = $"volatility-adjusted {F(limits.RiskPerTradePct)}% x (1 - 0.5 x ATR percentile {F(percentile)}) = {F(riskPct)}%";
                break;
            default:
                riskPct = limits.RiskPerTradePct;
                how = $"fixed fractional {F(riskPct)}%";
                break;
        }

        var lots = equity * riskPct / 100 / (stopPips * instrument.PipValuePerLot);
        return (lots, Pass("sizing", $"{how} of {F(equity)} over a {F(stopPips)}-pip stop at {F(instrument.PipValuePerLot)} per pip and lot: {F(lots)} lots"));
    }

    private static (double Lots, RiskCheck Check) Exposure(
        AccountRiskState state, RiskProfile profile, InstrumentSpec instrument, Signal signal, double equity, double lots, string name, double maxPct, Func<string, bool> counts)
    {
        var existing = 0.0;
        foreach (var position in state.Positions.Where(p => counts(p.Symbol)))
        {
            if (profile.Instrument(position.Symbol) is { } spec)
            {
                existing += AccountLedger.Notional(spec, position.Lots, state.LastPrices.GetValueOrDefault(position.Symbol, position.EntryPrice));
            }
        }

        foreach (var order in state.Pending.Where(p => p.Action == DirectiveAction.Open && counts(p.Symbol)))
        {
            if (profile.Instrument(order.Symbol) is { } spec)
            {
                existing += AccountLedger.Notional(spec, order.Lots, order.Price);
            }
        }

        var limit = maxPct / 100 * equity;
        var perLot = AccountLedger.Notional(instrument, 1, signal.Entry);
        var wanted = existing + lots * perLot;
        if (wanted <= limit + Epsilon)
        {
            return (lots, Pass(name, $"{F(wanted / equity * 100)}% of equity with this trade; the limit is {F(maxPct)}%"));
        }

        var fit = RoundDown(Math.Max(0, (limit - existing) / perLot), instrument.LotStep);
        return fit >= instrument.MinLot - Epsilon
            ? (fit, new(name, CheckResult.Reduce, $"{F(lots)} lots would bring exposure to {F(wanted / equity * 100)}% (limit {F(maxPct)}%); reduced to {F(fit)} lots"))
            : (0, new(name, CheckResult.Block, $"exposure is {F(existing / equity * 100)}% of equity; the limit {F(maxPct)}% leaves no room for {F(instrument.MinLot)} lots"));
    }

    private static RiskCheck Pdt(AccountRiskState state, RiskProfile profile, double equity, DateTimeOffset now)
    {
        if (equity >= PdtMinEquity)
        {
            return Pass("pdt", $"equity {F(equity)} is at least {F(PdtMinEquity)}");
        }

        // Day trades are counted by local calendar date in the account's time zone, over the last five weekdays up to today.
        var windows = profile.Windows;
        var days = new HashSet<DateOnly>();
        for (var day = windows.LocalDate(now); days.Count < PdtBusinessDays; day = day.AddDays(-1))
        {
            if (day.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday))
            {
                days.Add(day);
            }
        }

        var dayTrades = state.ClosedTrades.Count(t =>
            windows.LocalDate(t.OpenedAt) == windows.LocalDate(t.ClosedAt) && days.Contains(windows.LocalDate(t.ClosedAt)));
        return dayTrades >= PdtMaxDayTrades
            ? new("pdt", CheckResult.Block, $"{dayTrades} day trades in the last {PdtBusinessDays} business days with equity {F(equity)} under {F(PdtMinEquity)}")
            : Pass("pdt", $"{dayTrades} of {PdtMaxDayTrades} day trades in the last {PdtBusinessDays} business days");
    }

    private const double Epsilon = 1e-9;

    private static RiskCheck Pass(string name, string reason) => new(name, CheckResult.Pass, reason);

    private static RiskEvaluation Blocked(List<RiskCheck> checks, string name, string reason)
    {
        checks.Add(new(name, CheckResult.Block, reason));
        return new RiskEvaluation(RiskVerdict.Block, DirectiveAction.Open, 0, checks, false);
    }

    private static RiskEvaluation Verdict(List<RiskCheck> checks, double lots, bool halfOpenTrial)
    {
        var verdict = checks.Any(c => c.Result == CheckResult.Block) ? RiskVerdict.Block
            : checks.Any(c => c.Result == CheckResult.Reduce) ? RiskVerdict.Reduce
            : RiskVerdict.Allow;
        return new RiskEvaluation(verdict, DirectiveAction.Open, verdict == RiskVerdict.Block ? 0 : lots, checks, halfOpenTrial && verdict != RiskVerdict.Block);
    }

    private static string F(double value) => Breakers.F(value);

    /// <summary>An age for people: whole seconds under ten minutes, then minutes, hours and minutes, days and hours.</summary>
    private static string Age(TimeSpan age) => age switch
    {
        { TotalMinutes: < 10 } => $"{Math.Max(0, (int)age.TotalSeconds)} s",
        { TotalHours: < 2 } => $"{(int)age.TotalMinutes} min",
        { TotalDays: < 2 } => $"{(int)age.TotalHours} h {age.Minutes} min",
        _ => $"{(int)age.TotalDays} d {age.Hours} h",
    };
}
