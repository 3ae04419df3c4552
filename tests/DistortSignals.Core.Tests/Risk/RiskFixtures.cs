using DistortSignals.Core.Accounts;
using DistortSignals.Core.Market;
using DistortSignals.Core.Risk;
using DistortSignals.Core.Strategies;

namespace DistortSignals.Core.Tests.Risk;

/// <summary>An account with EURUSD and GBPUSD (pip 0.0001, 10 per pip and lot) and signals on them; 10,000 of equity, 1% per trade.</summary>
internal static class RiskFixtures
{
    public static readonly DateTimeOffset Now = new(2026, 3, 18, 15, 0, 0, TimeSpan.Zero);

    public static InstrumentSpec Fx(string symbol, double lotStep = 0.01, double minLot = 0.01, double maxLot = 100) => new()
    {
        Symbol = symbol,
        ContractSize = 100_000,
        PipSize = 0.0001,
        PipValuePerLot = 10,
        LotStep = lotStep,
        MinLot = minLot,
        MaxLot = maxLot,
    };

    public static BrokerAccountSpec Spec(RiskLimits? risk = null, params InstrumentSpec[] instruments) => new()
    {
        Broker = BrokerKind.Paper,
        CredentialsSecretRef = new SecretKeyReference { Name = "s", Key = "k" },
        Risk = risk ?? new RiskLimits(),
        Instruments = instruments.Length > 0 ? instruments : [Fx("EURUSD"), Fx("GBPUSD")],
    };

    public static RiskProfile Profile(RiskLimits? risk = null, params InstrumentSpec[] instruments) => new(Spec(risk, instruments));

    /// <summary>A state brought to <see cref="Now"/> with 10,000 of equity and nothing open.</summary>
    public static AccountRiskState State(RiskProfile? profile = null) =>
        Breakers.Advance(new AccountRiskState(), profile ?? Profile(), Now);

    public static Signal Signal(string symbol = "EURUSD", SignalDirection direction = SignalDirection.Buy, double entry = 1.1, double stop = 1.095, double atrPercentile = 0.5) => new(
        "sig-1", "trend", symbol, Timeframe.H1, Now.AddHours(-1), Now, direction, 0.8, entry, stop, entry + 2 * (entry - stop), 0.003,
        new MarketRegime(TrendRegime.Trending, VolatilityRegime.Normal, 30, atrPercentile), new ComponentScores(0.8, 0, 0, 0.8));

    public static RiskCheck Check(RiskEvaluation evaluation, string name) => Assert.Single(evaluation.Checks, c => c.Name == name);
}
