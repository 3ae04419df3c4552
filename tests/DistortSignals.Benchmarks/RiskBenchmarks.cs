using BenchmarkDotNet.Attributes;
using DistortSignals.Core.Accounts;
using DistortSignals.Core.Execution;
using DistortSignals.Core.Market;
using DistortSignals.Core.Risk;
using DistortSignals.Core.Strategies;

namespace DistortSignals.Benchmarks;

/// <summary>
/// The pure check chain as the account actor runs it per signal: the breakers brought to now, then every check
/// (an account with two open positions, a pending order, a correlation group, 40 closed trades for Kelly).
/// Mean is per decision; decisions/s = 1e9 / ns. The 100-account case decides once for each of 100 accounts
/// with their own state and profile, as a role serving 100 accounts does.
/// </summary>
public class RiskBenchmarks
{
    private const int Accounts = 100;
    private const int Repeats = 1000;

    private static readonly DateTimeOffset Now = new(2026, 3, 18, 15, 0, 0, TimeSpan.Zero);

    private RiskProfile _profile = null!;
    private AccountRiskState _state = null!;
    private Signal _signal = null!;
    private (RiskProfile Profile, AccountRiskState State)[] _accounts = [];

    [GlobalSetup]
    public void Setup()
    {
        _signal = new Signal("sig-bench", "bench", "EURUSD", Timeframe.H1, Now.AddHours(-1), Now, SignalDirection.Buy, 0.8, 1.1, 1.095, 1.11, 0.003,
            new MarketRegime(TrendRegime.Trending, VolatilityRegime.Normal, 30, 0.5), new ComponentScores(0.8, 0, 0, 0.8));
        (_profile, _state) = Account(SizingMethod.FixedFractional);
        _accounts = [.. Enumerable.Range(0, Accounts).Select(i => Account((SizingMethod)(i % 3)))];
    }

    [Benchmark(OperationsPerInvoke = Repeats)]
    public double Decide_OneAccount()
    {
        var lots = 0.0;
        for (var i = 0; i < Repeats; i++)
        {
            lots += RiskEngine.Decide(Breakers.Advance(_state, _profile, Now), _profile, _signal, Now).Lots;
        }

        return lots;
    }

    [Benchmark(OperationsPerInvoke = Accounts)]
    public double Decide_100Accounts()
    {
        var lots = 0.0;
        foreach (var (profile, state) in _accounts)
        {
            lots += RiskEngine.Decide(Breakers.Advance(state, profile, Now), profile, _signal, Now).Lots;
        }

        return lots;
    }

    private static (RiskProfile, AccountRiskState) Account(SizingMethod sizing)
    {
        InstrumentSpec Fx(string symbol) => new() { Symbol = symbol, ContractSize = 100_000, PipSize = 0.0001, PipValuePerLot = 10 };
        var profile = new RiskProfile(new BrokerAccountSpec
        {
            Broker = BrokerKind.Paper,
            CredentialsSecretRef = new SecretKeyReference { Name = "s", Key = "k" },
            Risk = new RiskLimits
            {
                Sizing = sizing,
                MaxExposurePct = 1000,
                CorrelationGroups = [new CorrelationGroup { Name = "usd", Symbols = ["EURUSD", "GBPUSD", "AUDUSD"], MaxExposurePct = 500 }],
            },
            Instruments = [Fx("EURUSD"), Fx("GBPUSD"), Fx("AUDUSD"), Fx("NZDUSD")],
        });
        var state = Breakers.Advance(new AccountRiskState(), profile, Now) with
        {
            Positions = [new OpenPosition("GBPUSD", SignalDirection.Buy, 0.1, 1.25, Now, "d-1"), new OpenPosition("NZDUSD", SignalDirection.Sell, 0.2, 0.6, Now, "d-2")],
            Pending = [new PendingOrder("d-3", "AUDUSD", SignalDirection.Buy, DirectiveAction.Open, 0.1, 0.65, false)],
            ClosedTrades = [.. Enumerable.Range(0, 40).Select(i => new ClosedTrade("EURUSD", i % 5 == 0 ? -100 : 150, Now.AddDays(-i - 1), Now.AddDays(-i)))],
        };
        return (profile, state);
    }
}
