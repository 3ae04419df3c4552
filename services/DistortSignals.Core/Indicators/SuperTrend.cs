namespace DistortSignals.Core.Indicators;

/// <summary>One bar of <see cref="SuperTrend"/>.</summary>
public readonly record struct SuperTrendPoint(double? Value, double? Upper, double? Lower, bool? IsBullish);

/// <summary>
/// SuperTrend on a Wilder ATR and the bar midpoint. A band only moves towards price, unless the previous
/// close broke through it; the trend turns bearish when the close reaches the active band. Only the
/// active band is published: the other one is null by definition.
/// </summary>
public sealed class SuperTrend : IIndicator
{
    private static readonly string[] OutputNames = ["superTrend", "upperBand", "lowerBand"];
    private readonly Atr _atr;
    private bool _started;
    private bool _bullish;
    private double _upper;
    private double _lower;
    private double _previousClose;

    public SuperTrend(int atrPeriod = 10, double multiplier = 3)
    {
        Guard.AtLeast(atrPeriod, 1, nameof(atrPeriod));
        Guard.Positive(multiplier, nameof(multiplier));
        AtrPeriod = atrPeriod;
        Multiplier = multiplier;
        _atr = new Atr(atrPeriod);
        Id = IndicatorId.Format("SUPERTREND", atrPeriod, multiplier);
    }

    public int AtrPeriod { get; }

    public double Multiplier { get; }

    public string Id { get; }

    public IReadOnlyList<string> Outputs => OutputNames;

    public int WarmupPeriod => AtrPeriod + 1;

    public bool IsReady => _started;

    public double? Value { get; private set; }

    public double? Upper { get; private set; }

    public double? Lower { get; private set; }

    public bool? IsBullish { get; private set; }

    public void Update(in Ohlcv bar)
    {
        _atr.Update(in bar);
        var previousClose = _previousClose;
        _previousClose = bar.Close;
        if (_atr.Value is not double atr)
        {
            // Before warm-up, or after an overflow made the ATR undefined: the bands keep their state
            // but nothing stale is published.
            Value = Upper = Lower = null;
            IsBullish = null;
            return;
        }

        var mid = (bar.High + bar.Low) / 2;
        var upperCandidate = mid + (Multiplier * atr);
        var lowerCandidate = mid - (Multiplier * atr);
        if (!_started)
        {
            _started = true;
            _bullish = bar.Close >= mid;
            _upper = upperCandidate;
            _lower = lowerCandidate;
        }
        else
        {
            if (upperCandidate < _upper || previousClose > _upper)
            {
                _upper = upperCandidate;
            }

            if (lowerCandidate > _lower || previousClose < _lower)
            {
                _lower = lowerCandidate;
            }
        }

        _bullish = bar.Close > (_bullish ? _lower : _upper);
        var active = _bullish ? _lower : _upper;
        Value = Numeric.OrNull(active);
        Upper = _bullish ? null : Value;
        Lower = _bullish ? Value : null;
        IsBullish = _bullish;
    }

    public double? Output(int index) => index switch
    {
        0 => Value,
        1 => Upper,
        2 => Lower,
        _ => throw Guard.BadOutputIndex(index, OutputNames.Length),
    };

    public static void Batch(ReadOnlySpan<Ohlcv> bars, Span<SuperTrendPoint> output, int atrPeriod = 10, double multiplier = 3)
    {
        Guard.OutputLength(bars.Length, output.Length);
        var indicator = new SuperTrend(atrPeriod, multiplier);
        for (var i = 0; i < bars.Length; i++)
        {
            indicator.Update(in bars[i]);
            output[i] = new SuperTrendPoint(indicator.Value, indicator.Upper, indicator.Lower, indicator.IsBullish);
        }
    }
}
