using DistortSignals.Core.Market;
using DistortSignals.Core.Strategies;
using DistortSignals.Core.Validation;

namespace DistortSignals.Core.Accounts;

/// <summary>Who executes an account's directives: an external MetaTrader 5 EA, or the host's paper terminal.</summary>
public enum BrokerKind
{
    MT5,
    Paper,
}

/// <summary>How the risk engine sizes a position (DESIGN.md section 5).</summary>
public enum SizingMethod
{
    FixedFractional,
    Kelly,
    VolatilityAdjusted,
}

/// <summary>
/// The spec of a BrokerAccount resource (DESIGN.md section 3): the one definition that the host's manifest
/// loader, the risk and gateway roles and the operator's CRD share. JSON names are the camelCase of the
/// property names.
/// </summary>
public sealed record BrokerAccountSpec
{
    public required BrokerKind Broker { get; init; }

    /// <summary>The broker login, for people and the EA's own check; never used as a credential.</summary>
    public string? Login { get; init; }

    /// <summary>The broker's trade server name.</summary>
    public string? Server { get; init; }

    /// <summary>The account currency, ISO 4217 (three capital letters); P&amp;L and pip values are in it.</summary>
    [SchemaPattern("^[A-Z]{3}$")]
    public string Currency { get; init; } = "USD";

    /// <summary>The Secret key that holds the EA's API key (scope ea:&lt;account&gt;).</summary>
    public required SecretKeyReference CredentialsSecretRef { get; init; }

    /// <summary>The kill switch: false blocks every new directive and cancels pending ones.</summary>
    public bool TradingEnabled { get; init; } = true;

    public RiskLimits Risk { get; init; } = new();

    /// <summary>Contract specs of the symbols the account may trade; a symbol without one is never traded.</summary>
    [SchemaItems(0, BrokerAccountValidator.MaxInstruments)]
    public IReadOnlyList<InstrumentSpec> Instruments { get; init; } = [];

    /// <summary>How long a directive waits to be claimed and executed before it expires.</summary>
    [SchemaRange(BrokerAccountValidator.MinDirectiveTtlSeconds, BrokerAccountValidator.MaxDirectiveTtlSeconds)]
    public int DirectiveTtlSeconds { get; init; } = 60;

    /// <summary>Changing this value asks for one manual reset of the circuit breaker.</summary>
    [SchemaLength(0, BrokerAccountValidator.MaxResetTokenLength)]
    public string? BreakerResetToken { get; init; }
}

/// <summary>A key of a Secret in the resource's namespace.</summary>
public sealed record SecretKeyReference
{
    [SchemaPattern(ResourceName.Pattern)]
    [SchemaLength(1, 253)]
    public required string Name { get; init; }

    [SchemaPattern("^[-._a-zA-Z0-9]+$")]
    public required string Key { get; init; }
}

/// <summary>The account's risk limits; percentages are of equity, 0 to 100.</summary>
public sealed record RiskLimits
{
    /// <summary>The equity risked on one trade (the loss at the stop).</summary>
    [SchemaRange(0, BrokerAccountValidator.MaxPercent, ExclusiveMinimum = true)]
    public double RiskPerTradePct { get; init; } = 1;

    [SchemaRange(0, BrokerAccountValidator.MaxPercent, ExclusiveMinimum = true)]
    public double MaxDailyLossPct { get; init; } = 3;

    [SchemaRange(0, BrokerAccountValidator.MaxPercent, ExclusiveMinimum = true)]
    public double MaxWeeklyLossPct { get; init; } = 6;

    /// <summary>The drawdown from peak equity that opens the breaker until a manual reset.</summary>
    [SchemaRange(0, BrokerAccountValidator.MaxPercent, ExclusiveMinimum = true)]
    public double MaxDrawdownPct { get; init; } = 10;

    [SchemaRange(1, BrokerAccountValidator.MaxCount)]
    public int MaxConsecutiveLosses { get; init; } = 4;

    /// <summary>How long the consecutive-loss breaker stays open before its half-open trial.</summary>
    [SchemaRange(0, BrokerAccountValidator.MaxCooldownMinutes)]
    public int CooldownMinutes { get; init; } = 60;

    /// <summary>Rejected or failed executions in a row that open the broker-error breaker.</summary>
    [SchemaRange(1, BrokerAccountValidator.MaxCount)]
    public int MaxBrokerErrors { get; init; } = 3;

    [SchemaRange(1, BrokerAccountValidator.MaxCount)]
    public int MaxOpenPositions { get; init; } = 5;

    /// <summary>The total notional exposure of open and pending positions.</summary>
    [SchemaRange(0, BrokerAccountValidator.MaxExposurePct, ExclusiveMinimum = true)]
    public double MaxExposurePct { get; init; } = 300;

    public IReadOnlyList<CorrelationGroup> CorrelationGroups { get; init; } = [];

    public SizingMethod Sizing { get; init; } = SizingMethod.FixedFractional;

    /// <summary>The share of the full Kelly fraction that Kelly sizing uses, 0 to 1.</summary>
    [SchemaRange(0, 1, ExclusiveMinimum = true)]
    public double KellyFraction { get; init; } = 0.25;

    public PdtRule Pdt { get; init; } = new();

    public DayReset DayReset { get; init; } = new();

    /// <summary>
    /// How old a signal may be when it is decided, in seconds from the close of its bar. Absent: one bar of the
    /// signal's timeframe, so a signal is stale once the bar after it has closed (after a backlog, a restart or a
    /// backfill). 0: no limit, for replaying history into a paper account.
    /// </summary>
    [SchemaRange(0, BrokerAccountValidator.MaxSignalAgeSeconds)]
    public int? MaxSignalAgeSeconds { get; init; }
}

/// <summary>Symbols that move together; their combined exposure has its own limit.</summary>
public sealed record CorrelationGroup
{
    [SchemaPattern(ResourceName.Pattern)]
    [SchemaLength(1, 63)]
    public required string Name { get; init; }

    [SchemaItems(2, ItemPattern = MarketValidation.SymbolPattern, ItemMaxLength = MarketValidation.MaxSymbolLength)]
    public IReadOnlyList<string> Symbols { get; init; } = [];

    [SchemaRange(0, BrokerAccountValidator.MaxExposurePct, ExclusiveMinimum = true)]
    public double MaxExposurePct { get; init; }
}

/// <summary>The US pattern-day-trader rule for equity accounts.</summary>
public sealed record PdtRule
{
    public bool Enabled { get; init; }
}

/// <summary>When the trading day starts: daily and weekly loss windows begin here.</summary>
public sealed record DayReset
{
    /// <summary>Local time of day, "HH:mm", 24-hour.</summary>
    [SchemaPattern(SessionWindow.SessionTimePattern)]
    public string Time { get; init; } = "17:00";

    /// <summary>An IANA time zone id.</summary>
    public string TimeZone { get; init; } = "America/New_York";
}

/// <summary>A symbol's contract, in MT5 terms (SYMBOL_TRADE_CONTRACT_SIZE, SYMBOL_VOLUME_MIN/STEP/MAX).</summary>
public sealed record InstrumentSpec
{
    [SchemaPattern(MarketValidation.SymbolPattern)]
    [SchemaLength(1, MarketValidation.MaxSymbolLength)]
    public required string Symbol { get; init; }

    /// <summary>Units of the base asset in one lot.</summary>
    [SchemaRange(0, double.MaxValue, ExclusiveMinimum = true)]
    public required double ContractSize { get; init; }

    /// <summary>The price change called one pip, for example 0.0001 for EURUSD.</summary>
    [SchemaRange(0, double.MaxValue, ExclusiveMinimum = true)]
    public required double PipSize { get; init; }

    /// <summary>The money value, in the account currency, of one pip on one lot.</summary>
    [SchemaRange(0, double.MaxValue, ExclusiveMinimum = true)]
    public required double PipValuePerLot { get; init; }

    [SchemaRange(0, double.MaxValue, ExclusiveMinimum = true)]
    public double MinLot { get; init; } = 0.01;

    [SchemaRange(0, double.MaxValue, ExclusiveMinimum = true)]
    public double LotStep { get; init; } = 0.01;

    [SchemaRange(0, double.MaxValue, ExclusiveMinimum = true)]
    public double MaxLot { get; init; } = 100;

    /// <summary>Price decimals; when absent, one more than the pip size's (0.0001 gives 5).</summary>
    [SchemaRange(0, Instrument.MaxDigits)]
    public int? Digits { get; init; }

    public Instrument ToInstrument() =>
        new(Symbol, ContractSize, PipSize, PipValuePerLot, MinLot, LotStep, MaxLot, Digits ?? DigitsOf(PipSize) + 1);

    /// <summary>The decimals of a pip size such as 0.0001 (4) or 0.01 (2); 0 for a pip of 1 or more.</summary>
    public static int DigitsOf(double pipSize) => pipSize >= 1 ? 0 : (int)Math.Round(-Math.Log10(pipSize));
}
