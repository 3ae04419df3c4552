using DistortSignals.Core.Accounts;
using DistortSignals.Core.Strategies;
using DistortSignals.Operator.Kube;

namespace DistortSignals.Operator.Entities;

/// <summary>A strategy that the operator runs as a signals Deployment.</summary>
[KubernetesEntity(ResourceKind.TradingGroup, ResourceKind.TradingVersion, "TradingStrategy", "tradingstrategies", ShortNames = ["ts"], Categories = ["distortsignals"])]
[PrinterColumn("Timeframe", "string", ".spec.timeframe")]
[PrinterColumn("Phase", "string", ".status.phase")]
[PrinterColumn("Paused", "boolean", ".spec.paused")]
[PrinterColumn("Last Signal", "date", ".status.lastSignal")]
[PrinterColumn("Today", "integer", ".status.signalsToday")]
[PrinterColumn("Symbols", "string", ".spec.symbols", Priority = 1)]
[PrinterColumn("Age", "date", ".metadata.creationTimestamp")]
public sealed class TradingStrategy
{
    public required TradingStrategySpec Spec { get; init; }

    public TradingStrategyStatus? Status { get; init; }
}

/// <summary>A broker account with its risk limits; its status carries the circuit breaker.</summary>
[KubernetesEntity(ResourceKind.TradingGroup, ResourceKind.TradingVersion, "BrokerAccount", "brokeraccounts", ShortNames = ["ba"], Categories = ["distortsignals"])]
[PrinterColumn("Broker", "string", ".spec.broker")]
[PrinterColumn("Phase", "string", ".status.phase")]
[PrinterColumn("Breaker", "string", ".status.circuitBreaker.state")]
[PrinterColumn("Trading", "boolean", ".spec.tradingEnabled")]
[PrinterColumn("Equity", "number", ".status.account.equity")]
[PrinterColumn("Reason", "string", ".status.circuitBreaker.reason", Priority = 1)]
[PrinterColumn("Age", "date", ".metadata.creationTimestamp")]
public sealed class BrokerAccount
{
    public required BrokerAccountSpec Spec { get; init; }

    public BrokerAccountStatus? Status { get; init; }
}
