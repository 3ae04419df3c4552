namespace DistortSignals.Core.Indicators;

/// <summary>
/// Wilder's smoothing (alpha = 1/n) as the reference computes it: the first value is the plain mean
/// of the first n inputs, then <c>avg = (prev*(n-1) + x)/n</c>.
/// </summary>
internal sealed class WilderAverage(int period)
{
    private int _count;

    public bool IsReady => _count >= period;

    public double Value { get; private set; }

    public void Add(double value)
    {
        if (_count < period)
        {
            Value += value;
            if (++_count == period)
            {
                Value /= period;
            }
        }
        else
        {
            Value = ((Value * (period - 1)) + value) / period;
        }
    }
}
