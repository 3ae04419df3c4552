namespace DistortSignals.Core.Indicators;

/// <summary>
/// Maximum or minimum of the last <c>period</c> values: a monotonic deque over a preallocated ring,
/// O(1) amortized per value. A minimum is kept as the maximum of the negated values (negation is exact).
/// </summary>
internal sealed class SlidingExtremum
{
    private readonly double[] _values;
    private readonly long[] _positions;
    private readonly double _sign;
    private int _head;
    private int _length;
    private long _added;

    private SlidingExtremum(int period, double sign)
    {
        _values = new double[period];
        _positions = new long[period];
        _sign = sign;
    }

    public static SlidingExtremum Maximum(int period) => new(period, 1);

    public static SlidingExtremum Minimum(int period) => new(period, -1);

    /// <summary>True once a whole period of values has been added.</summary>
    public bool IsFull => _added >= _values.Length;

    public double Value => _sign * _values[_head];

    public void Add(double value)
    {
        var capacity = _values.Length;
        var keyed = _sign * value;
        var position = _added++;

        if (_length > 0 && _positions[_head] <= position - capacity)
        {
            _head = _head + 1 == capacity ? 0 : _head + 1;
            _length--;
        }

        while (_length > 0)
        {
            var back = _head + _length - 1;
            if (back >= capacity)
            {
                back -= capacity;
            }

            if (_values[back] > keyed)
            {
                break;
            }

            _length--;
        }

        var slot = _head + _length;
        if (slot >= capacity)
        {
            slot -= capacity;
        }

        _values[slot] = keyed;
        _positions[slot] = position;
        _length++;
    }
}
