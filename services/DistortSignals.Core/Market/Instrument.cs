namespace DistortSignals.Core.Market;

/// <summary>
/// A tradable symbol and the contract facts that sizing and risk need, in MT5 terms: lots of
/// <see cref="ContractSize"/> units, prices quoted with <see cref="Digits"/> decimals, and the money
/// value of one pip for one lot in the account currency.
/// </summary>
public sealed record Instrument(
    string Symbol,
    double ContractSize,
    double PipSize,
    double PipValuePerLot,
    double MinLot,
    double LotStep,
    double MaxLot,
    int Digits)
{
    /// <summary>The highest digits any MT5 symbol uses; beyond it a price could not be represented reliably.</summary>
    public const int MaxDigits = 10;

    /// <summary>The smallest price change, 10^-Digits.</summary>
    public double Point => 1.0 / Math.Pow(10, Digits);
}
