namespace DistortSignals.Core.Execution;

/// <summary>What a terminal says happened to a directive (the <c>outcome</c> of an EA report).</summary>
public enum ExecutionOutcome
{
    Filled,
    Partial,
    Rejected,
    Failed,
}

/// <summary>
/// An accepted EA report with the directive it executed (payload of <c>execution.reported</c>), so that the
/// risk role can update positions without reading the gateway's tables. <see cref="ExecutedAt"/> is the terminal's
/// time (or the gateway's when it sent none); <see cref="ReceivedAt"/> is the gateway's, on the same clock as a
/// heartbeat's (null in events published before it was added).
/// </summary>
public sealed record ExecutionReported(
    string ReportId,
    TradeDirective Directive,
    ExecutionOutcome Outcome,
    long? Ticket,
    double FilledVolume,
    double? Price,
    int? Retcode,
    string? Message,
    DateTimeOffset ExecutedAt,
    string TerminalId,
    DateTimeOffset? ReceivedAt = null);

/// <summary>An open position as a terminal reports it in a heartbeat.</summary>
public sealed record TerminalPosition(
    long Ticket,
    string Symbol,
    OrderSide Side,
    double Volume,
    double OpenPrice,
    double? Sl,
    double? Tp,
    double Profit,
    long Magic,
    string? Comment);

/// <summary>
/// A terminal's heartbeat as the gateway accepted it (payload of <c>account.heartbeat</c>). When the account's
/// terminal misses its heartbeats the gateway publishes one more with <see cref="Connected"/> false, repeating
/// the last figures.
/// </summary>
public sealed record AccountHeartbeat(
    string Account,
    string TerminalId,
    double Equity,
    double Balance,
    double Margin,
    double FreeMargin,
    IReadOnlyList<TerminalPosition> Positions,
    DateTimeOffset? ServerTime,
    DateTimeOffset ReceivedAt,
    bool Connected);
