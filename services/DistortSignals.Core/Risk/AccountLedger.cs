using DistortSignals.Core.Accounts;
using DistortSignals.Core.Execution;
using DistortSignals.Core.Strategies;

namespace DistortSignals.Core.Risk;

/// <summary>
/// Books what happens to an account into its <see cref="AccountRiskState"/>: directives sent, fills, rejections,
/// cancellations, prices and heartbeats. Money is in the account currency through the instrument's pip value:
/// a price move of one pip on one lot is worth <see cref="InstrumentSpec.PipValuePerLot"/>.
/// </summary>
public static class AccountLedger
{
    /// <summary>The money result of a move from <paramref name="entry"/> to <paramref name="exit"/> on <paramref name="lots"/>.</summary>
    public static double Pnl(InstrumentSpec instrument, SignalDirection direction, double entry, double exit, double lots) =>
        (exit - entry) * Sign(direction) / instrument.PipSize * instrument.PipValuePerLot * lots;

    /// <summary>The notional value of <paramref name="lots"/> at <paramref name="price"/> in the account currency: lots x (pip value / pip size) x price.</summary>
    public static double Notional(InstrumentSpec instrument, double lots, double price) =>
        lots * instrument.PipValuePerLot / instrument.PipSize * price;

    public static AccountRiskState AddPending(AccountRiskState state, PendingOrder order) =>
        state with { Pending = [.. state.Pending.Where(p => p.DirectiveId != order.DirectiveId), order] };

    /// <summary>
    /// A directive's state change from the gateway. One that finished without a fill (cancelled, expired, rejected,
    /// failed) leaves the pending exposure. A fill, whole or partial, leaves it pending until its execution report
    /// books the position: that comes on another topic, maybe later, and until then the order still holds its
    /// exposure. So does a claimed directive whose lease ended without a report (<see cref="LapseClaim"/>).
    /// </summary>
    public static AccountRiskState ApplyDirectiveUpdate(AccountRiskState state, DirectiveUpdate update) => update switch
    {
        { State: DirectiveState.Expired, TerminalId: not null } => LapseClaim(state, update.Id, update.At),
        { State: DirectiveState.Filled or DirectiveState.PartiallyFilled } => state,
        { State: var final } when DirectiveStates.IsFinal(final) => DropPending(state, update.Id),
        _ => state,
    };

    private static AccountRiskState DropPending(AccountRiskState state, string directiveId) =>
        state.Pending.Any(p => p.DirectiveId == directiveId)
            ? state with { Pending = [.. state.Pending.Where(p => p.DirectiveId != directiveId)] }
            : state;

    /// <summary>
    /// Books an execution report: a rejection or failure counts as a broker error; a fill resets that count, opens
    /// or adds to the symbol's position (Open) or closes it (Close), realising P&amp;L and counting wins and losses.
    /// </summary>
    public static AccountRiskState ApplyExecution(AccountRiskState state, ExecutionReported report, RiskProfile profile, DateTimeOffset now)
    {
        var directive = report.Directive;
        var trial = state.Pending.Any(p => p.DirectiveId == directive.Id && p.HalfOpenTrial);
        state = DropPending(state, directive.Id);
        if (report.Outcome is ExecutionOutcome.Rejected or ExecutionOutcome.Failed)
        {
            return state with { ConsecutiveBrokerErrors = state.ConsecutiveBrokerErrors + 1 };
        }

        state = state with { ConsecutiveBrokerErrors = 0 };
        var instrument = profile.Instrument(directive.Symbol);
        var price = report.Price ?? directive.Price ?? state.LastPrices.GetValueOrDefault(directive.Symbol);
        if (instrument is null || report.FilledVolume <= 0 || price <= 0)
        {
            return state;
        }

        state = WithPrice(state, directive.Symbol, price);
        var direction = directive.Side == OrderSide.Buy ? SignalDirection.Buy : SignalDirection.Sell;
        var position = state.Positions.FirstOrDefault(p => p.Symbol == directive.Symbol);
        if (directive.Action == DirectiveAction.Open)
        {
            var opened = position is { } held && held.Direction == direction
                ? held with
                {
                    Lots = held.Lots + report.FilledVolume,
                    EntryPrice = (held.EntryPrice * held.Lots + price * report.FilledVolume) / (held.Lots + report.FilledVolume),
                    HalfOpenTrial = held.HalfOpenTrial || trial,
                    LastFillReceivedAt = report.ReceivedAt,
                }
                : new OpenPosition(directive.Symbol, direction, report.FilledVolume, price, report.ExecutedAt, directive.Id, trial, report.ReceivedAt);
            return Remark(state with { Positions = [.. state.Positions.Where(p => p.Symbol != directive.Symbol), opened] }, profile);
        }

        return position is null || position.Direction == direction
            ? Remark(state, profile)
            : BookClose(state, position, instrument, report.FilledVolume, price, report.ExecutedAt, profile, now);
    }

    /// <summary>
    /// Books <paramref name="lots"/> of <paramref name="position"/> closed at <paramref name="price"/>: the P&amp;L is
    /// realised, the rest stays open, and the trade counts as a win or a loss.
    /// </summary>
    private static AccountRiskState BookClose(
        AccountRiskState state, OpenPosition position, InstrumentSpec instrument, double lots, double price, DateTimeOffset closedAt, RiskProfile profile, DateTimeOffset now)
    {
        var closedLots = Math.Min(position.Lots, lots);
        var pnl = Pnl(instrument, position.Direction, position.EntryPrice, price, closedLots);
        var remaining = position.Lots - closedLots;
        var positions = state.Positions.Where(p => p.Symbol != position.Symbol).ToList();
        if (remaining > instrument.LotStep / 2)
        {
            positions.Add(position with { Lots = remaining });
        }

        var trade = new ClosedTrade(position.Symbol, pnl, position.OpenedAt, closedAt);
        state = state with
        {
            Positions = positions,
            RealizedPnl = state.RealizedPnl + pnl,
            RealizedSinceHeartbeat = state.RealizedSinceHeartbeat + pnl,
            ClosedTrades = [.. state.ClosedTrades.Skip(Math.Max(0, state.ClosedTrades.Count + 1 - AccountRiskState.MaxClosedTrades)), trade],
            ConsecutiveLosses = pnl < 0 ? state.ConsecutiveLosses + 1 : 0,
            Breaker = Breakers.AfterTrade(state.Breaker, pnl, profile, now),
        };
        return Remark(state, profile);
    }

    /// <summary>
    /// The close of a bar of <paramref name="symbol"/> that ended at <paramref name="closedAt"/>: open positions in it
    /// are marked to it, unless a bar that ended later already marked them (a late or backfilled bar is older news).
    /// </summary>
    public static AccountRiskState ApplyPrice(AccountRiskState state, string symbol, double price, DateTimeOffset closedAt, RiskProfile profile)
    {
        if (state.LastBarCloses.TryGetValue(symbol, out var latest) && closedAt < latest)
        {
            return state;
        }

        var marked = WithPrice(state, symbol, price) with { LastBarCloses = new Dictionary<string, DateTimeOffset>(state.LastBarCloses) { [symbol] = closedAt } };
        return Remark(marked, profile);
    }

    /// <summary>
    /// A claimed directive whose lease ended without a report: the terminal may have sent its order, and may report it
    /// late, so it stays pending, marked as lapsed at <paramref name="at"/>, until <see cref="ApplyHeartbeat"/> rules it out.
    /// </summary>
    private static AccountRiskState LapseClaim(AccountRiskState state, string directiveId, DateTimeOffset at) =>
        state.Pending.Any(p => p.DirectiveId == directiveId)
            ? state with { Pending = [.. state.Pending.Select(p => p.DirectiveId == directiveId ? p with { LapsedAt = at } : p)] }
            : state;

    /// <summary>
    /// The terminal's figures replace the computed equity and balance. A heartbeat from a connected terminal, received
    /// after a claim lapsed, that shows the lapsed order never filled drops it from the pending exposure: for an OPEN,
    /// no position has the directive's id in its comment (<c>DS:&lt;id&gt;</c>); for a CLOSE, the position it was to
    /// close is still there (or the book holds none in the symbol). Then the book is checked against the terminal's
    /// positions (<see cref="CloseWhatTheTerminalNoLongerHolds"/>).
    /// </summary>
    public static AccountRiskState ApplyHeartbeat(AccountRiskState state, AccountHeartbeat heartbeat, RiskProfile profile, DateTimeOffset now)
    {
        bool Listed(string directiveId) => heartbeat.Positions.Any(t => t.Comment?.Contains(directiveId, StringComparison.Ordinal) == true);
        bool NeverFilled(PendingOrder order) => order.Action == DirectiveAction.Open
            ? !Listed(order.DirectiveId)
            : state.Positions.FirstOrDefault(p => p.Symbol == order.Symbol) is not { } open || Listed(open.DirectiveId);

        if (heartbeat.Connected)
        {
            var unfilled = state.Pending.Where(p => p.LapsedAt < heartbeat.ReceivedAt && NeverFilled(p)).ToList();
            state = CloseWhatTheTerminalNoLongerHolds(unfilled.Count == 0 ? state : state with { Pending = [.. state.Pending.Except(unfilled)] }, heartbeat, profile, now);
        }

        // After the closes: the terminal's balance and equity already hold their results.
        return state with { HeartbeatEquity = heartbeat.Equity, HeartbeatBalance = heartbeat.Balance, RealizedSinceHeartbeat = 0 };
    }

    /// <summary>
    /// A booked position of which a connected terminal holds fewer lots, in a heartbeat received after the position's
    /// latest fill was reported, was closed at the broker (a stop-loss, a take-profit, a close by hand): the lots gone
    /// are booked closed at the symbol's last mark, which is an estimate, since the terminal reports no price for that
    /// close. It counts as a win or a loss like any close. Every position of the symbol on the same side counts as
    /// held, whatever its comment, so a position opened by hand can hide a close but never invent one. A symbol with
    /// an order pending is left to that order's report.
    /// </summary>
    private static AccountRiskState CloseWhatTheTerminalNoLongerHolds(AccountRiskState state, AccountHeartbeat heartbeat, RiskProfile profile, DateTimeOffset now)
    {
        foreach (var position in state.Positions.ToList())
        {
            if ((position.LastFillReceivedAt ?? position.OpenedAt) >= heartbeat.ReceivedAt
                || state.Pending.Any(p => p.Symbol == position.Symbol)
                || profile.Instrument(position.Symbol) is not { } instrument)
            {
                continue;
            }

            var side = position.Direction == SignalDirection.Buy ? OrderSide.Buy : OrderSide.Sell;
            var held = heartbeat.Positions.Where(t => t.Symbol == position.Symbol && t.Side == side).Sum(t => t.Volume);
            if (position.Lots - held > instrument.LotStep / 2)
            {
                var mark = state.LastPrices.GetValueOrDefault(position.Symbol, position.EntryPrice);
                state = BookClose(state, position, instrument, position.Lots - held, mark, heartbeat.ReceivedAt, profile, now);
            }
        }

        return state;
    }

    private static AccountRiskState WithPrice(AccountRiskState state, string symbol, double price) =>
        state.LastPrices.TryGetValue(symbol, out var known) && known == price
            ? state
            : state with { LastPrices = new Dictionary<string, double>(state.LastPrices) { [symbol] = price } };

    private static AccountRiskState Remark(AccountRiskState state, RiskProfile profile)
    {
        var unrealized = 0.0;
        foreach (var position in state.Positions)
        {
            if (profile.Instrument(position.Symbol) is { } instrument && state.LastPrices.TryGetValue(position.Symbol, out var price))
            {
                unrealized += Pnl(instrument, position.Direction, position.EntryPrice, price, position.Lots);
            }
        }

        return state with { UnrealizedPnl = unrealized };
    }

    private static int Sign(SignalDirection direction) => direction == SignalDirection.Buy ? 1 : -1;
}
