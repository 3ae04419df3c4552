using DistortSignals.Core.Execution;
using DistortSignals.Core.Risk;

namespace DistortSignals.Gateway.Api;

/// <summary>The answer to <c>GET /ea/v1/directives</c>: the account's pending, unexpired directives, oldest first.</summary>
public sealed record PollAnswer(IReadOnlyList<TradeDirective> Directives, DateTimeOffset ServerTime);

/// <summary>The body of <c>POST /ea/v1/directives/{id}/claim</c>.</summary>
public sealed record ClaimRequest(string? TerminalId);

/// <summary>A granted claim: the directive is the terminal's until <see cref="LeaseUntil"/>; without a report by then it expires.</summary>
public sealed record ClaimAnswer(TradeDirective Directive, string TerminalId, DateTimeOffset LeaseUntil);

/// <summary>
/// The body of <c>POST /ea/v1/directives/{id}/report</c>. Every field is nullable so that a missing one is
/// answered with its name rather than a binding failure.
/// </summary>
public sealed record ReportRequest(
    string? ReportId,
    string? Outcome,
    long? Ticket,
    double? FilledVolume,
    double? Price,
    int? Retcode,
    string? Message,
    DateTimeOffset? ExecutedAt);

/// <summary>An accepted report: the directive's state after it. The same report always gets the same answer.</summary>
public sealed record ReportAnswer(string DirectiveId, string ReportId, DirectiveState State);

/// <summary>The body of <c>POST /ea/v1/heartbeat</c>.</summary>
public sealed record HeartbeatRequest(
    string? TerminalId,
    double? Equity,
    double? Balance,
    double? Margin,
    double? FreeMargin,
    IReadOnlyList<PositionRequest?>? Positions,
    DateTimeOffset? ServerTime);

/// <summary>An open position in a heartbeat; <see cref="Side"/> is buy or sell.</summary>
public sealed record PositionRequest(
    long? Ticket,
    string? Symbol,
    string? Side,
    double? Volume,
    double? OpenPrice,
    double? Sl,
    double? Tp,
    double? Profit,
    long? Magic,
    string? Comment);

/// <summary>What the terminal should do: trade only while <see cref="TradingEnabled"/> and the breaker is not open; poll every <see cref="PollSeconds"/>.</summary>
public sealed record HeartbeatAnswer(bool TradingEnabled, BreakerState Breaker, int PollSeconds);
