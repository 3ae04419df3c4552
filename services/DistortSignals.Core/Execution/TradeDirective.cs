using System.Text.Json.Serialization;

namespace DistortSignals.Core.Execution;

// The EA contract (DESIGN.md section 4) spells these in capitals, as MQL5 names its own (ORDER_TYPE_BUY).
public enum DirectiveAction
{
    [JsonStringEnumMemberName("OPEN")]
    Open,
    [JsonStringEnumMemberName("CLOSE")]
    Close,
}

public enum OrderSide
{
    [JsonStringEnumMemberName("BUY")]
    Buy,
    [JsonStringEnumMemberName("SELL")]
    Sell,
}

public enum OrderType
{
    [JsonStringEnumMemberName("MARKET")]
    Market,
    [JsonStringEnumMemberName("LIMIT")]
    Limit,
    [JsonStringEnumMemberName("STOP")]
    Stop,
}

/// <summary>
/// Pending -> Claimed -> Filled | PartiallyFilled | Rejected | Failed, and Pending | Claimed -> Expired | Cancelled
/// (DESIGN.md section 4). The last six are final.
/// </summary>
public enum DirectiveState
{
    Pending,
    Claimed,
    Filled,
    PartiallyFilled,
    Rejected,
    Failed,
    Expired,
    Cancelled,
}

/// <summary>
/// An order for one account's terminal to place, made by the risk role (payload of <c>directive.created</c>).
/// <see cref="Id"/> is at most <see cref="MaxIdLength"/> characters so that the MT5 order comment
/// <c>DS:&lt;id&gt;</c> fits in MT5's 31.
/// </summary>
public sealed record TradeDirective(
    string Id,
    string Account,
    string Symbol,
    DirectiveAction Action,
    OrderSide Side,
    OrderType OrderType,
    double Volume,
    double? Price,
    double? Sl,
    double? Tp,
    int DeviationPoints,
    long Magic,
    string Comment,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt,
    string Strategy,
    string SignalId)
{
    public const int MaxIdLength = 24;

    public const string CommentPrefix = "DS:";
}

/// <summary>A directive's state change (payload of <c>directive.updated</c>), from the gateway or the risk role.</summary>
public sealed record DirectiveUpdate(
    string Id,
    string Account,
    DirectiveState State,
    string? TerminalId,
    string? Reason,
    DateTimeOffset At);

public static class DirectiveStates
{
    public static bool IsFinal(DirectiveState state) => state is not (DirectiveState.Pending or DirectiveState.Claimed);
}
