namespace DistortSignals.Core.Indicators;

/// <summary>
/// Fast (raw) %K over the last n bars including the current one, shared by Stochastic and Williams %R.
/// Clamped like the reference: 0 when HH = LL, exactly 100 when C >= HH, exactly 0 when C <= LL.
/// </summary>
internal sealed class RawStochastic(int lookback)
{
    private readonly SlidingExtremum _highest = SlidingExtremum.Maximum(lookback);
    private readonly SlidingExtremum _lowest = SlidingExtremum.Minimum(lookback);

    /// <summary>Takes the bar; returns false until a full lookback window exists.</summary>
    public bool Add(in Ohlcv bar, out double percentK)
    {
        _highest.Add(bar.High);
        _lowest.Add(bar.Low);
        if (!_highest.IsFull)
        {
            percentK = 0;
            return false;
        }

        var highest = _highest.Value;
        var lowest = _lowest.Value;
        var close = bar.Close;
        percentK = highest == lowest || close <= lowest ? 0
            : close >= highest ? 100
            : 100 * (close - lowest) / (highest - lowest);
        return true;
    }
}
