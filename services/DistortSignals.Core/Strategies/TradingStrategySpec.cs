using DistortSignals.Core.Market;
using DistortSignals.Core.Validation;

namespace DistortSignals.Core.Strategies;

/// <summary>
/// The spec of a TradingStrategy resource (DESIGN.md section 3): the one definition that the host's
/// manifest loader, the signal engine and the operator's CRD share. JSON names are the camelCase of
/// the property names.
/// </summary>
[SchemaRule("!has(self.confirmTimeframe) || {'M1':1,'M5':5,'M15':15,'M30':30,'H1':60,'H4':240,'D1':1440}[self.confirmTimeframe] > {'M1':1,'M5':5,'M15':15,'M30':30,'H1':60,'H4':240,'D1':1440}[self.timeframe]", "spec.confirmTimeframe must be a higher timeframe than spec.timeframe", FieldPath = ".confirmTimeframe")]
public sealed record TradingStrategySpec
{
    /// <summary>The symbols it trades, 1 to 50.</summary>
    [SchemaItems(1, TradingStrategyValidator.MaxSymbols, ItemPattern = MarketValidation.SymbolPattern, ItemMaxLength = MarketValidation.MaxSymbolLength)]
    public IReadOnlyList<string> Symbols { get; init; } = [];

    /// <summary>The bar timeframe the strategy evaluates.</summary>
    public required Timeframe Timeframe { get; init; }

    /// <summary>A higher timeframe whose trend a signal must agree with; none when null.</summary>
    public Timeframe? ConfirmTimeframe { get; init; }

    public StrategyWeights Weights { get; init; } = new();

    /// <summary>The combined strength, 0 to 1, at which a signal is emitted.</summary>
    [SchemaRange(0, 1)]
    public double MinStrength { get; init; } = 0.6;

    public IndicatorPeriods Indicators { get; init; } = new();

    public ExitRules Exits { get; init; } = new();

    /// <summary>UTC trading windows; signals outside them are suppressed. Empty means always.</summary>
    public IReadOnlyList<SessionWindow> Sessions { get; init; } = [];

    /// <summary>The BrokerAccount names that receive this strategy's signals.</summary>
    [SchemaItems(0, ItemPattern = ResourceName.Pattern, ItemMaxLength = 63)]
    public IReadOnlyList<string> Accounts { get; init; } = [];

    public bool Paused { get; init; }

    [SchemaRange(0, TradingStrategyValidator.MaxReplicas)]
    public int Replicas { get; init; } = 1;

    /// <summary>Kubernetes resource requests and limits for the signals Deployment, passed through.</summary>
    public ResourceRequirements? Resources { get; init; }
}

/// <summary>How much each score counts, each 0 to 1, with a sum above 0.</summary>
[SchemaRule("!has(self.momentum) || !has(self.meanReversion) || !has(self.breakout) || self.momentum + self.meanReversion + self.breakout > 0.0", "spec.weights: at least one of momentum, meanReversion and breakout must be above 0")]
public sealed record StrategyWeights
{
    [SchemaRange(0, 1)]
    public double Momentum { get; init; } = 0.4;

    [SchemaRange(0, 1)]
    public double MeanReversion { get; init; } = 0.3;

    [SchemaRange(0, 1)]
    public double Breakout { get; init; } = 0.3;

    public double Sum => Momentum + MeanReversion + Breakout;
}

/// <summary>Indicator periods; every one has a default.</summary>
[SchemaRule("!has(self.emaFast) || !has(self.emaSlow) || self.emaFast < self.emaSlow", "spec.indicators.emaFast must be below spec.indicators.emaSlow", FieldPath = ".emaFast")]
public sealed record IndicatorPeriods
{
    [SchemaRange(TradingStrategyValidator.MinPeriod, TradingStrategyValidator.MaxPeriod)]
    public int EmaFast { get; init; } = 12;

    [SchemaRange(TradingStrategyValidator.MinPeriod, TradingStrategyValidator.MaxPeriod)]
    public int EmaSlow { get; init; } = 26;

    [SchemaRange(TradingStrategyValidator.MinPeriod, TradingStrategyValidator.MaxPeriod)]
    public int Rsi { get; init; } = 14;

    [SchemaRange(TradingStrategyValidator.MinPeriod, TradingStrategyValidator.MaxPeriod)]
    public int Bollinger { get; init; } = 20;

    [SchemaRange(0, TradingStrategyValidator.MaxBollingerStdDev, ExclusiveMinimum = true)]
    public double BollingerStdDev { get; init; } = 2;

    [SchemaRange(TradingStrategyValidator.MinPeriod, TradingStrategyValidator.MaxPeriod)]
    public int Atr { get; init; } = 14;

    [SchemaRange(TradingStrategyValidator.MinPeriod, TradingStrategyValidator.MaxPeriod)]
    public int Adx { get; init; } = 14;

    [SchemaRange(TradingStrategyValidator.MinPeriod, TradingStrategyValidator.MaxPeriod)]
    public int Donchian { get; init; } = 20;

    /// <summary>The average volume a breakout bar is compared with.</summary>
    [SchemaRange(TradingStrategyValidator.MinPeriod, TradingStrategyValidator.MaxPeriod)]
    public int Volume { get; init; } = 20;

    /// <summary>How many ATR values the volatility percentile ranks the current one among.</summary>
    [SchemaRange(TradingStrategyValidator.MinPeriod, TradingStrategyValidator.MaxPeriod)]
    public int AtrPercentile { get; init; } = 100;
}

/// <summary>Where the stop and the take-profit go: the stop in ATRs from the entry, the target as a multiple of the stop distance.</summary>
public sealed record ExitRules
{
    [SchemaRange(0, TradingStrategyValidator.MaxExitMultiple, ExclusiveMinimum = true)]
    public double StopAtr { get; init; } = 2;

    [SchemaRange(0, TradingStrategyValidator.MaxExitMultiple, ExclusiveMinimum = true)]
    public double RewardRisk { get; init; } = 2;
}

/// <summary>
/// A UTC trading window on the given days. When <see cref="End"/> is not after <see cref="Start"/>, the window
/// runs past midnight into the next day; <see cref="Days"/> names the day it starts.
/// </summary>
public sealed record SessionWindow
{
    /// <summary>"HH:mm", 24-hour: what <see cref="TradingStrategyValidator.ParseSessionTime"/> accepts.</summary>
    public const string SessionTimePattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$";

    /// <summary>The days the window opens; empty means every day.</summary>
    public IReadOnlyList<DayOfWeek> Days { get; init; } = [];

    /// <summary>Opening time, "HH:mm", UTC.</summary>
    [SchemaPattern(SessionTimePattern)]
    public required string Start { get; init; }

    /// <summary>Closing time, "HH:mm", UTC, exclusive.</summary>
    [SchemaPattern(SessionTimePattern)]
    public required string End { get; init; }
}

/// <summary>Kubernetes container resources, as quantities ("250m", "256Mi").</summary>
public sealed record ResourceRequirements
{
    public IReadOnlyDictionary<string, string> Requests { get; init; } = new Dictionary<string, string>();

    public IReadOnlyDictionary<string, string> Limits { get; init; } = new Dictionary<string, string>();
}
