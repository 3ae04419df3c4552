namespace DistortSignals.Core.Indicators;

/// <summary>One bar of <see cref="Adx"/>.</summary>
public readonly record struct AdxPoint(double? PlusDi, double? MinusDi, double? Dx, double? Value, double? Adxr);

/// <summary>
/// Wilder's directional movement system. TR, +DM and -DM are Wilder-smoothed from bar 1 (the
/// reference's running sums are n times these averages, so the DI ratios are the same); the first ADX
/// is the mean of the first n DX values, then Wilder-smoothed; ADXR averages ADX with ADX n bars ago.
/// </summary>
public sealed class Adx : IIndicator
{
    private static readonly string[] OutputNames = ["pdi", "mdi", "dx", "adx", "adxr"];
    private readonly TrueRange _trueRange = new();
    private readonly WilderAverage _smoothedRange;
    private readonly WilderAverage _smoothedPlus;
    private readonly WilderAverage _smoothedMinus;
    private readonly WilderAverage _adx;
    private readonly double[] _adxHistory;
    private int _historySlot;
    private double _previousHigh;
    private double _previousLow;

    public Adx(int period = 14)
    {
        Guard.AtLeast(period, 1, nameof(period));
        Period = period;
        _smoothedRange = new WilderAverage(period);
        _smoothedPlus = new WilderAverage(period);
        _smoothedMinus = new WilderAverage(period);
        _adx = new WilderAverage(period);
        _adxHistory = new double[period];
        Array.Fill(_adxHistory, double.NaN);
        Id = IndicatorId.Format("ADX", period);
    }

    public int Period { get; }

    public string Id { get; }

    public IReadOnlyList<string> Outputs => OutputNames;

    public int WarmupPeriod => 3 * Period;

    public bool IsReady => Adxr.HasValue;

    public double? PlusDi { get; private set; }

    public double? MinusDi { get; private set; }

    public double? Dx { get; private set; }

    public double? Value { get; private set; }

    public double? Adxr { get; private set; }

    public void Update(in Ohlcv bar)
    {
        var hasRange = _trueRange.Add(in bar, out var trueRange);
        var up = bar.High - _previousHigh;
        var down = _previousLow - bar.Low;
        _previousHigh = bar.High;
        _previousLow = bar.Low;
        if (!hasRange)
        {
            return;
        }

        _smoothedRange.Add(trueRange);
        _smoothedPlus.Add(up > down && up > 0 ? up : 0);
        _smoothedMinus.Add(down > up && down > 0 ? down : 0);
        if (!_smoothedRange.IsReady)
        {
            return;
        }

        // ADX n bars ago, read before this bar's ADX takes its slot; NaN (not yet defined) makes ADXR null.
        var adxBefore = _adxHistory[_historySlot];
        var adx = double.NaN;
        var range = _smoothedRange.Value;

        // No movement at all within the smoothing memory (smoothed TR = 0): the whole row is undefined,
        // and ADX is averaged over defined DX values only, so it starts later after such a stretch.
        if (range == 0)
        {
            PlusDi = MinusDi = Dx = null;
        }
        else
        {
            var plus = 100 * _smoothedPlus.Value / range;
            var minus = 100 * _smoothedMinus.Value / range;
            var dx = plus == minus ? 0 : 100 * Math.Abs(plus - minus) / (plus + minus);
            PlusDi = Numeric.OrNull(plus);
            MinusDi = Numeric.OrNull(minus);
            Dx = Numeric.OrNull(dx);
            _adx.Add(dx);
            if (_adx.IsReady)
            {
                adx = _adx.Value;
            }
        }

        Value = Numeric.OrNull(adx);
        Adxr = Numeric.OrNull((adx + adxBefore) / 2);
        _adxHistory[_historySlot] = adx;
        _historySlot = _historySlot + 1 == Period ? 0 : _historySlot + 1;
    }

    public double? Output(int index) => index switch
    {
        0 => PlusDi,
        1 => MinusDi,
        2 => Dx,
        3 => Value,
        4 => Adxr,
        _ => throw Guard.BadOutputIndex(index, OutputNames.Length),
    };

    public static void Batch(ReadOnlySpan<Ohlcv> bars, Span<AdxPoint> output, int period = 14)
    {
        Guard.OutputLength(bars.Length, output.Length);
        var indicator = new Adx(period);
        for (var i = 0; i < bars.Length; i++)
        {
            indicator.Update(in bars[i]);
            output[i] = new AdxPoint(indicator.PlusDi, indicator.MinusDi, indicator.Dx, indicator.Value, indicator.Adxr);
        }
    }
}
