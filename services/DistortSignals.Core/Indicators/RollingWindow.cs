namespace DistortSignals.Core.Indicators;

/// <summary>
/// The last <c>period</c> values in a ring buffer with running sums for O(1) mean and population
/// variance. The sums are of values minus a shift (a recent value), so the variance does not suffer
/// the cancellation of a raw sum of squares and a flat window gives exactly zero. They are
/// recomputed from the buffer every <c>period</c> additions, so rounding cannot drift, and at once
/// when they stop being finite (a huge value entering or leaving), so an overflow never outlives
/// the value that caused it.
/// </summary>
internal sealed class RollingWindow
{
    private readonly double[] _values;
    private readonly bool _trackVariance;
    private int _next;
    private int _count;
    private int _sinceRecompute;
    private double _shift;
    private double _sum;
    private double _sumOfSquares;

    public RollingWindow(int period, bool trackVariance)
    {
        _values = new double[period];
        _trackVariance = trackVariance;
    }

    public bool IsFull => _count == _values.Length;

    public double Mean => _shift + (_sum / _count);

    /// <summary>Population variance (divided by N): never negative; NaN when the sums overflowed.</summary>
    public double Variance
    {
        get
        {
            var meanOffset = _sum / _count;
            var variance = (_sumOfSquares / _count) - (meanOffset * meanOffset);
            return variance < 0 ? 0 : variance;
        }
    }

    public void Add(double value)
    {
        if (_count == 0)
        {
            _shift = value;
        }

        // One addition per sum on the loop-carried chain: the difference is formed off the chain.
        var entering = value - _shift;
        if (_count == _values.Length)
        {
            var leaving = _values[_next] - _shift;
            _sum += entering - leaving;
            if (_trackVariance)
            {
                _sumOfSquares += (entering * entering) - (leaving * leaving);
            }
        }
        else
        {
            _count++;
            _sum += entering;
            if (_trackVariance)
            {
                _sumOfSquares += entering * entering;
            }
        }

        _values[_next] = value;
        _next = _next + 1 == _values.Length ? 0 : _next + 1;
        if (++_sinceRecompute >= _values.Length || !double.IsFinite(_sum + _sumOfSquares))
        {
            Recompute(value);
        }
    }

    /// <summary>Mean of |value - center| over the window: O(period), for CCI.</summary>
    public double MeanAbsoluteDeviation(double center)
    {
        var total = 0.0;
        for (var i = 0; i < _count; i++)
        {
            total += Math.Abs(_values[i] - center);
        }

        return total / _count;
    }

    private void Recompute(double shift)
    {
        _sinceRecompute = 0;
        _shift = shift;
        var sum = 0.0;
        var sumOfSquares = 0.0;
        for (var i = 0; i < _count; i++)
        {
            var offset = _values[i] - shift;
            sum += offset;
            if (_trackVariance)
            {
                sumOfSquares += offset * offset;
            }
        }

        _sum = sum;
        _sumOfSquares = sumOfSquares;
    }
}
