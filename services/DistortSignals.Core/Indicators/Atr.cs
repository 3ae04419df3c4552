namespace DistortSignals.Core.Indicators;

/// <summary>One bar of <see cref="Atr"/>.</summary>
public readonly record struct AtrPoint(double? TrueRange, double? Value, double? Percent);

/// <summary>
/// Average true range with Wilder smoothing: the first value, at bar <c>period</c>, is the mean of the
/// true ranges of bars 1..period (bar 0 has none).
/// </summary>
public sealed class Atr : IIndicator
{
    private static readonly string[] OutputNames = ["tr", "atr", "atrp"];
    private readonly TrueRange _trueRange = new();
    private readonly WilderAverage _average;

    public Atr(int period = 14)
    {
        Guard.AtLeast(period, 1, nameof(period));
        Period = period;
        _average = new WilderAverage(period);
        Id = IndicatorId.Format("ATR", period);
    }

    public int Period { get; }

    public string Id { get; }

    public IReadOnlyList<string> Outputs => OutputNames;

    public int WarmupPeriod => Period + 1;

    public bool IsReady => _average.IsReady;

    public double? TrueRange { get; private set; }

    public double? Value { get; private set; }

    public double? Percent { get; private set; }

    public void Update(in Ohlcv bar)
    {
        if (!_trueRange.Add(in bar, out var trueRange))
        {
            return;
        }

        TrueRange = Numeric.OrNull(trueRange);
        _average.Add(trueRange);
        if (!_average.IsReady)
        {
            return;
        }

        var atr = _average.Value;
        Value = Numeric.OrNull(atr);

        // ATR as a percentage of a zero close is undefined.
        Percent = bar.Close == 0 ? null : Numeric.OrNull(atr / bar.Close * 100);
    }

    public double? Output(int index) => index switch
    {
        0 => TrueRange,
        1 => Value,
        2 => Percent,
        _ => throw Guard.BadOutputIndex(index, OutputNames.Length),
    };

    public static void Batch(ReadOnlySpan<Ohlcv> bars, Span<AtrPoint> output, int period = 14)
    {
        Guard.OutputLength(bars.Length, output.Length);
        var indicator = new Atr(period);
        for (var i = 0; i < bars.Length; i++)
        {
            indicator.Update(in bars[i]);
            output[i] = new AtrPoint(indicator.TrueRange, indicator.Value, indicator.Percent);
        }
    }
}
