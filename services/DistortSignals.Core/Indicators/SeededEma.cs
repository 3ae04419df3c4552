namespace DistortSignals.Core.Indicators;

/// <summary>
/// Exponential moving average with k = 2/(n+1), seeded with the simple mean of the first n inputs,
/// then <c>ema = prev + k*(x - prev)</c>.
/// </summary>
internal sealed class SeededEma(int period)
{
    private readonly double _k = 2.0 / (period + 1);
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
            Value += _k * (value - Value);
        }
    }
}
