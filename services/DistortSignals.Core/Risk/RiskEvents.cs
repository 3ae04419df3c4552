using DistortSignals.Core.Strategies;

namespace DistortSignals.Core.Risk;

public enum RiskVerdict
{
    Allow,
    Reduce,
    Block,
}

public enum CheckResult
{
    Pass,
    Reduce,
    Block,
}

public enum BreakerState
{
    Closed,
    Open,
    HalfOpen,
}

/// <summary>Which breaker opened; <see cref="None"/> while closed.</summary>
public enum BreakerKind
{
    None,
    DailyLoss,
    WeeklyLoss,
    Drawdown,
    ConsecutiveLosses,
    BrokerErrors,
    Manual,
}

/// <summary>One check of the chain: its name (for example "daily-loss"), its result and why.</summary>
public sealed record RiskCheck(string Name, CheckResult Result, string Reason);

/// <summary>The verdict on one signal for one account (payload of <c>risk.decided</c>); <see cref="Lots"/> is 0 when blocked.</summary>
public sealed record RiskDecision(
    string Id,
    string Account,
    string SignalId,
    string Strategy,
    string Symbol,
    SignalDirection Direction,
    RiskVerdict Verdict,
    double Lots,
    IReadOnlyList<RiskCheck> Checks,
    DateTimeOffset DecidedAt);

/// <summary>
/// A breaker's change (payload of <c>breaker.changed</c>). <see cref="Sequence"/> grows with every change of the
/// account's state, so a consumer that sees events out of order keeps the newest.
/// </summary>
public sealed record BreakerChanged(
    string Account,
    BreakerState State,
    BreakerKind Breaker,
    string Reason,
    DateTimeOffset Since,
    DateTimeOffset? Until,
    long Sequence);

/// <summary>
/// The account as the risk role sees it (payload of <c>account.state</c>); the operator copies it into the
/// BrokerAccount's status. Percentages are of the window's starting equity; losses are negative.
/// </summary>
public sealed record AccountStateSnapshot(
    string Account,
    bool TradingEnabled,
    BreakerState Breaker,
    BreakerKind BreakerReason,
    string? BreakerMessage,
    DateTimeOffset? BreakerSince,
    DateTimeOffset? BreakerUntil,
    double DailyPnlPct,
    double WeeklyPnlPct,
    double DrawdownPct,
    int ConsecutiveLosses,
    string? LastResetToken,
    double Equity,
    double Balance,
    int OpenPositions,
    DateTimeOffset? LastHeartbeat,
    bool Connected,
    long Sequence);
