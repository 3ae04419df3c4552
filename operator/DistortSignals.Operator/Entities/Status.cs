using DistortSignals.Core.Risk;
using DistortSignals.Core.Validation;

namespace DistortSignals.Operator.Entities;

/// <summary>A metav1.Condition: lastTransitionTime changes only when status does.</summary>
public sealed record Condition
{
    /// <summary>The condition, in CamelCase, for example Ready.</summary>
    [SchemaLength(1, 316)]
    public required string Type { get; init; }

    /// <summary>True, False or Unknown.</summary>
    public required ConditionStatus Status { get; init; }

    /// <summary>The metadata.generation the condition was computed from.</summary>
    [SchemaRange(0, double.MaxValue)]
    public long? ObservedGeneration { get; init; }

    /// <summary>When status last changed.</summary>
    public required DateTimeOffset LastTransitionTime { get; init; }

    /// <summary>Why, in CamelCase, for example AccountNotFound.</summary>
    [SchemaPattern("^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")]
    [SchemaLength(1, 1024)]
    public required string Reason { get; init; }

    /// <summary>Details for people; names the field when a spec is invalid.</summary>
    [SchemaLength(0, 32768)]
    public required string Message { get; init; }
}

public enum ConditionStatus
{
    True,
    False,
    Unknown,
}

public enum StrategyPhase
{
    Pending,
    Running,
    Paused,
    Degraded,
    Failed,
}

/// <summary>What the operator observed of a TradingStrategy.</summary>
public sealed record TradingStrategyStatus
{
    /// <summary>Pending, Running, Paused, Degraded or Failed.</summary>
    public StrategyPhase? Phase { get; init; }

    /// <summary>The metadata.generation this status describes.</summary>
    public long? ObservedGeneration { get; init; }

    /// <summary>Ready and ConfigValid.</summary>
    [ListMap("type")]
    public IReadOnlyList<Condition> Conditions { get; init; } = [];

    /// <summary>Replicas of the signals Deployment that are ready.</summary>
    public int? ReadyReplicas { get; init; }

    /// <summary>When the strategy last emitted a signal, from the signals role.</summary>
    public DateTimeOffset? LastSignal { get; init; }

    /// <summary>Signals emitted since 00:00 UTC, from the signals role.</summary>
    public long? SignalsToday { get; init; }
}

public enum AccountPhase
{
    Active,
    Halted,
    Disconnected,
    Disabled,
}

/// <summary>What the operator observed of a BrokerAccount, read back from the risk role.</summary>
public sealed record BrokerAccountStatus
{
    /// <summary>Active, Halted (breaker open), Disconnected (no EA heartbeat) or Disabled (kill switch).</summary>
    public AccountPhase? Phase { get; init; }

    /// <summary>The metadata.generation this status describes.</summary>
    public long? ObservedGeneration { get; init; }

    /// <summary>Ready, CredentialsValid, BreakerClosed and EaConnected.</summary>
    [ListMap("type")]
    public IReadOnlyList<Condition> Conditions { get; init; } = [];

    public CircuitBreakerStatus? CircuitBreaker { get; init; }

    public AccountSummary? Account { get; init; }
}

/// <summary>The account's circuit breaker as the risk role reports it.</summary>
public sealed record CircuitBreakerStatus
{
    /// <summary>Closed, Open or HalfOpen.</summary>
    public required BreakerState State { get; init; }

    /// <summary>Which breaker opened; None while closed.</summary>
    public BreakerKind? Reason { get; init; }

    public string? Message { get; init; }

    public DateTimeOffset? Since { get; init; }

    /// <summary>When a cooldown ends; absent when only a manual reset closes it.</summary>
    public DateTimeOffset? Until { get; init; }

    public double DailyPnlPct { get; init; }

    public double WeeklyPnlPct { get; init; }

    public double DrawdownPct { get; init; }

    public int ConsecutiveLosses { get; init; }

    /// <summary>The spec.breakerResetToken that was last forwarded to the risk role.</summary>
    public string? LastResetToken { get; init; }
}

/// <summary>The account's money and terminal, from the EA's heartbeats.</summary>
public sealed record AccountSummary
{
    public double Equity { get; init; }

    public double Balance { get; init; }

    public int OpenPositions { get; init; }

    public DateTimeOffset? LastHeartbeat { get; init; }

    public bool Connected { get; init; }
}
