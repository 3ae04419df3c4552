using DistortSignals.Core.Execution;
using DistortSignals.Core.Strategies;

namespace DistortSignals.Core.Risk;

/// <summary>
/// An open position as the risk engine books it from fills: one per symbol (duplicates are refused).
/// <see cref="HalfOpenTrial"/>: opened by the half-open breaker's trial, which stays in flight until it closes.
/// <see cref="LastFillReceivedAt"/>: when the gateway received the report of its latest fill (null in state booked
/// before that was kept); a terminal's heartbeat received earlier may not show that fill yet.
/// </summary>
public sealed record OpenPosition(
    string Symbol, SignalDirection Direction, double Lots, double EntryPrice, DateTimeOffset OpenedAt, string DirectiveId, bool HalfOpenTrial = false,
    DateTimeOffset? LastFillReceivedAt = null);

/// <summary>
/// A directive sent to the terminal and not yet finished; it counts towards positions and exposure.
/// <see cref="LapsedAt"/>: a terminal claimed it and its lease ended without a report, so its order may have reached
/// the broker; it stays pending until its execution is reported or a later heartbeat shows no position of it.
/// </summary>
public sealed record PendingOrder(
    string DirectiveId, string Symbol, SignalDirection Direction, DirectiveAction Action, double Lots, double Price, bool HalfOpenTrial, DateTimeOffset? LapsedAt = null);

/// <summary>A closed trade: its money result in the account currency, for the Kelly statistics and the PDT count.</summary>
public sealed record ClosedTrade(string Symbol, double Pnl, DateTimeOffset OpenedAt, DateTimeOffset ClosedAt);

/// <summary>The circuit breaker: which one is open or half-open, why, since when and until when (null: until a manual reset).</summary>
public sealed record BreakerStatus(BreakerState State, BreakerKind Kind, string? Reason, DateTimeOffset? Since, DateTimeOffset? Until)
{
    public static BreakerStatus Closed { get; } = new(BreakerState.Closed, BreakerKind.None, null, null, null);
}

/// <summary>
/// Everything the check chain and the breakers need to know about one account, as plain data: the risk module
/// keeps it in its actor's state, the rules only read it and return changed copies.
/// </summary>
public sealed record AccountRiskState
{
    /// <summary>The equity assumed before any heartbeat or fill: a paper account's starting balance.</summary>
    public const double DefaultStartingEquity = 10_000;

    /// <summary>How many closed trades are kept for the Kelly statistics.</summary>
    public const int MaxClosedTrades = 200;

    public bool TradingEnabled { get; init; } = true;

    /// <summary>The equity from the last heartbeat; null before the terminal has sent one.</summary>
    public double? HeartbeatEquity { get; init; }

    public double? HeartbeatBalance { get; init; }

    public double StartingEquity { get; init; } = DefaultStartingEquity;

    /// <summary>Realised P&amp;L of trades closed since the last heartbeat (the heartbeat's equity already holds older ones).</summary>
    public double RealizedSinceHeartbeat { get; init; }

    public double RealizedPnl { get; init; }

    public double UnrealizedPnl { get; init; }

    public double PeakEquity { get; init; } = DefaultStartingEquity;

    /// <summary>The start of the current daily window (a day reset) and the equity at that moment.</summary>
    public DateTimeOffset? DayStart { get; init; }

    public double DayStartEquity { get; init; } = DefaultStartingEquity;

    public DateTimeOffset? WeekStart { get; init; }

    public double WeekStartEquity { get; init; } = DefaultStartingEquity;

    public BreakerStatus Breaker { get; init; } = BreakerStatus.Closed;

    public int ConsecutiveLosses { get; init; }

    public int ConsecutiveBrokerErrors { get; init; }

    public IReadOnlyList<OpenPosition> Positions { get; init; } = [];

    public IReadOnlyList<PendingOrder> Pending { get; init; } = [];

    public IReadOnlyList<ClosedTrade> ClosedTrades { get; init; } = [];

    /// <summary>The latest close per symbol (from bar.closed or a fill), for marking positions to market.</summary>
    public IReadOnlyDictionary<string, double> LastPrices { get; init; } = new Dictionary<string, double>();

    /// <summary>The end of the latest bar that marked each symbol, so that an older bar delivered later does not.</summary>
    public IReadOnlyDictionary<string, DateTimeOffset> LastBarCloses { get; init; } = new Dictionary<string, DateTimeOffset>();

    /// <summary>
    /// The account's equity: the last heartbeat's plus what closed since, or the starting equity plus realised
    /// and unrealised P&amp;L while no heartbeat has come.
    /// </summary>
    public double Equity => HeartbeatEquity is { } heartbeat
        ? heartbeat + RealizedSinceHeartbeat
        : StartingEquity + RealizedPnl + UnrealizedPnl;

    public double Balance => HeartbeatBalance is { } balance ? balance + RealizedSinceHeartbeat : StartingEquity + RealizedPnl;

    public double DailyPnlPct => Percent(Equity - DayStartEquity, DayStartEquity);

    public double WeeklyPnlPct => Percent(Equity - WeekStartEquity, WeekStartEquity);

    /// <summary>The fall from peak equity in percent, positive (0 at the peak).</summary>
    public double DrawdownPct => PeakEquity > 0 ? Math.Max(0, (PeakEquity - Equity) / PeakEquity * 100) : 0;

    /// <summary>The half-open trial is in flight from its directive until its position closes: only then does its result decide the breaker.</summary>
    public bool HalfOpenTrialInFlight => Pending.Any(p => p.HalfOpenTrial) || Positions.Any(p => p.HalfOpenTrial);

    private static double Percent(double change, double basis) => basis > 0 ? change / basis * 100 : 0;
}
