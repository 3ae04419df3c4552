using DistortSignals.Core.Accounts;
using DistortSignals.Core.Execution;
using DistortSignals.Core.Risk;
using DistortSignals.Core.Strategies;
using DistortSignals.Risk.Storage;

namespace DistortSignals.Risk.Accounts;

/// <summary>The arguments of the account actor's methods (JSON through the actor interface); events carry their event id for deduplication.</summary>
internal sealed record ConfigureInput(BrokerAccountSpec Spec);

internal sealed record SignalInput(string EventId, Signal Signal);

internal sealed record ExecutionInput(string EventId, ExecutionReported Report);

internal sealed record DirectiveUpdateInput(string EventId, DirectiveUpdate Update);

internal sealed record HeartbeatInput(string EventId, AccountHeartbeat Heartbeat);

/// <summary>A bar's close and the time the bar ended.</summary>
internal sealed record PriceInput(string EventId, string Symbol, double Price, DateTimeOffset ClosedAt);

internal sealed record ResetInput(string Token, string Reason, Requester Requester);

internal sealed record TradingInput(bool Enabled, Requester Requester);

internal sealed record TripInput(string Reason, Requester Requester);

/// <summary>The answer to a breaker reset: whether this call applied it (false when the token was used before) and the account after.</summary>
internal sealed record ResetResult(string Account, string Token, bool Applied, AccountStateSnapshot State);

/// <summary>What the actor keeps through the state manager, under one key.</summary>
internal sealed record AccountActorState
{
    public const int MaxHandled = 512;
    public const int MaxResetTokens = 100;

    public BrokerAccountSpec? Spec { get; init; }

    public AccountRiskState Book { get; init; } = new();

    /// <summary>The spec's kill switch and reset token as last applied, so that only a change of them acts.</summary>
    public bool? SpecTradingEnabled { get; init; }

    public string? SpecResetToken { get; init; }

    public long Sequence { get; init; }

    /// <summary>How many turns have committed to the risk schema; risk.accounts keeps the state of the latest.</summary>
    public long Turn { get; init; }

    /// <summary>The newest snapshot published, to publish only changes.</summary>
    public AccountStateSnapshot? Published { get; init; }

    /// <summary>Ids of the latest events taken, so that an event redelivered after a crash changes nothing.</summary>
    public IReadOnlyList<string> Handled { get; init; } = [];

    public IReadOnlyList<string> ResetTokens { get; init; } = [];

    public string? LastResetToken { get; init; }

    public DateTimeOffset? LastHeartbeat { get; init; }

    public bool Connected { get; init; }

    public DateTimeOffset? DayReminder { get; init; }

    public DateTimeOffset? WeekReminder { get; init; }

    public DateTimeOffset? BreakerReminder { get; init; }
}
