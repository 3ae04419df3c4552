using DistortSignals.Core.Accounts;

namespace DistortSignals.Core.Risk;

/// <summary>An account's spec prepared for the rules: its limits, its instruments by symbol and its loss windows.</summary>
public sealed class RiskProfile
{
    public RiskProfile(BrokerAccountSpec spec)
    {
        Spec = spec;
        Instruments = spec.Instruments.ToDictionary(i => i.Symbol, StringComparer.Ordinal);
        Windows = new RiskWindows(spec.Risk.DayReset);
    }

    public BrokerAccountSpec Spec { get; }

    public RiskLimits Limits => Spec.Risk;

    public IReadOnlyDictionary<string, InstrumentSpec> Instruments { get; }

    public RiskWindows Windows { get; }

    public InstrumentSpec? Instrument(string symbol) => Instruments.GetValueOrDefault(symbol);
}
