namespace DistortSignals.Core.Indicators;

/// <summary>
/// True range <c>max(H-L, |H-prevC|, |L-prevC|)</c>. Undefined on the first bar, as in the reference
/// (it is not taken as H-L there).
/// </summary>
internal sealed class TrueRange
{
    private bool _hasPrevious;
    private double _previousClose;

    /// <summary>Takes the bar; returns false on the first bar, when there is no true range.</summary>
    public bool Add(in Ohlcv bar, out double trueRange)
    {
        var had = _hasPrevious;
        trueRange = had
            ? Math.Max(bar.High - bar.Low, Math.Max(Math.Abs(bar.High - _previousClose), Math.Abs(bar.Low - _previousClose)))
            : 0;
        _previousClose = bar.Close;
        _hasPrevious = true;
        return had;
    }
}
