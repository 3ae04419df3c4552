using DistortSignals.Core.Accounts;

namespace DistortSignals.Core.Tests.Accounts;

public sealed class BrokerAccountValidatorTests
{
    private static readonly InstrumentSpec Eurusd = new() { Symbol = "EURUSD", ContractSize = 100_000, PipSize = 0.0001, PipValuePerLot = 10 };

    private static BrokerAccountSpec Valid() => new()
    {
        Broker = BrokerKind.Paper,
        CredentialsSecretRef = new SecretKeyReference { Name = "paper-ea", Key = "apiKey" },
        Instruments = [Eurusd],
    };

    private static string Problems(BrokerAccountSpec spec) => string.Join("\n", BrokerAccountValidator.Validate(spec));

    [Fact]
    public void The_defaults_with_a_secret_reference_are_valid()
    {
        Assert.Empty(BrokerAccountValidator.Validate(Valid()));
    }

    public static TheoryData<BrokerAccountSpec, string> Bad => new()
    {
        { Valid() with { Broker = (BrokerKind)7 }, "spec.broker: '7' is not one of MT5, Paper" },
        { Valid() with { Currency = "usd" }, "spec.currency: 'usd' is not an ISO 4217 code" },
        { Valid() with { CredentialsSecretRef = new SecretKeyReference { Name = "Bad_Name", Key = "apiKey" } }, "spec.credentialsSecretRef.name: 'Bad_Name'" },
        { Valid() with { CredentialsSecretRef = new SecretKeyReference { Name = "ea", Key = "api key" } }, "spec.credentialsSecretRef.key: 'api key'" },
        { Valid() with { Risk = new RiskLimits { RiskPerTradePct = 0 } }, "spec.risk.riskPerTradePct: 0 must be above 0 and at most 100" },
        { Valid() with { Risk = new RiskLimits { MaxDailyLossPct = double.NaN } }, "spec.risk.maxDailyLossPct: NaN must be above 0" },
        { Valid() with { Risk = new RiskLimits { MaxDrawdownPct = 100.5 } }, "spec.risk.maxDrawdownPct: 100.5 must be above 0 and at most 100" },
        { Valid() with { Risk = new RiskLimits { MaxConsecutiveLosses = 0 } }, "spec.risk.maxConsecutiveLosses: 0 is outside 1..1000" },
        { Valid() with { Risk = new RiskLimits { CooldownMinutes = -1 } }, "spec.risk.cooldownMinutes: -1 is outside 0..10080" },
        { Valid() with { Risk = new RiskLimits { KellyFraction = 1.5 } }, "spec.risk.kellyFraction: 1.5 must be above 0 and at most 1" },
        { Valid() with { Risk = new RiskLimits { DayReset = new DayReset { Time = "5pm" } } }, "spec.risk.dayReset.time: '5pm' is not a time of day" },
        { Valid() with { Risk = new RiskLimits { DayReset = new DayReset { TimeZone = "America/Gotham" } } }, "spec.risk.dayReset.timeZone: 'America/Gotham' is not a known IANA time zone id" },
        {
            Valid() with { Risk = new RiskLimits { CorrelationGroups = [new CorrelationGroup { Name = "usd", Symbols = ["EURUSD"], MaxExposurePct = 50 }] } },
            "spec.risk.correlationGroups[0].symbols: has 1 entries; a group needs at least 2"
        },
        {
            Valid() with
            {
                Risk = new RiskLimits
                {
                    CorrelationGroups =
                    [
                        new CorrelationGroup { Name = "usd", Symbols = ["EURUSD", "GBPUSD"], MaxExposurePct = 50 },
                        new CorrelationGroup { Name = "usd", Symbols = ["EURUSD", "AUDUSD"], MaxExposurePct = 50 },
                    ],
                },
            },
            "spec.risk.correlationGroups[1].name: 'usd' is used by two groups"
        },
        { Valid() with { Instruments = [Eurusd, Eurusd] }, "spec.instruments[1].symbol: 'EURUSD' is listed twice" },
        { Valid() with { Instruments = [Eurusd with { PipSize = 0 }] }, "spec.instruments[0].pipSize: 0 is not positive" },
        { Valid() with { Instruments = [Eurusd with { PipValuePerLot = double.PositiveInfinity }] }, "spec.instruments[0].pipValuePerLot: Infinity is not a finite number" },
        { Valid() with { Instruments = [Eurusd with { MinLot = 1, MaxLot = 0.5 }] }, "spec.instruments[0].maxLot: 0.5 is below minLot 1" },
        { Valid() with { Instruments = [Eurusd with { Digits = 11 }] }, "spec.instruments[0].digits: 11 is outside 0..10" },
        { Valid() with { DirectiveTtlSeconds = 4 }, "spec.directiveTtlSeconds: 4 is outside 5..86400" },
        { Valid() with { Risk = new RiskLimits { MaxSignalAgeSeconds = -1 } }, "spec.risk.maxSignalAgeSeconds: -1 is outside 0..604800" },
        { Valid() with { Risk = new RiskLimits { MaxSignalAgeSeconds = 604_801 } }, "spec.risk.maxSignalAgeSeconds: 604801 is outside 0..604800" },
        { Valid() with { BreakerResetToken = new string('x', 129) }, "spec.breakerResetToken: is 129 characters long" },
    };

    [Theory]
    [MemberData(nameof(Bad))]
    public void A_bad_field_is_named_with_its_value(BrokerAccountSpec spec, string expected)
    {
        Assert.Contains(expected, Problems(spec), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0.0001, 5)]
    [InlineData(0.01, 3)]
    [InlineData(0.1, 2)]
    [InlineData(1, 1)]
    public void An_instrument_without_digits_quotes_one_decimal_below_its_pip(double pipSize, int digits)
    {
        Assert.Equal(digits, (Eurusd with { PipSize = pipSize }).ToInstrument().Digits);
    }

    [Fact]
    public void Given_digits_win_over_the_pip_size()
    {
        Assert.Equal(4, (Eurusd with { Digits = 4 }).ToInstrument().Digits);
    }
}
