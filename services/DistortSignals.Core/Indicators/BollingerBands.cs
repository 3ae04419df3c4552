namespace DistortSignals.Core.Indicators;

/// <summary>One bar of <see cref="BollingerBands"/>.</summary>
public readonly record struct BollingerPoint(
    double? Middle, double? Upper, double? Lower, double? PercentB, double? ZScore, double? Width);

/// <summary>
/// Bollinger bands: SMA of the close plus/minus <c>multiplier</c> population standard deviations of the
/// same window.
/// </summary>
public sealed class BollingerBands : IIndicator
{
    private static readonly string[] OutputNames = ["sma", "upperBand", "lowerBand", "percentB", "zScore", "width"];
    private readonly RollingWindow _window;

    public BollingerBands(int period = 20, double multiplier = 2)
    {
        Guard.AtLeast(period, 1, nameof(period));
        Guard.Positive(multiplier, nameof(multiplier));
        Period = period;
        Multiplier = multiplier;
        _window = new RollingWindow(period, trackVariance: true);
        Id = IndicatorId.Format("BB", period, multiplier);
    }

    public int Period { get; }

    public double Multiplier { get; }

    public string Id { get; }

    public IReadOnlyList<string> Outputs => OutputNames;

    public int WarmupPeriod => Period;

    public bool IsReady => _window.IsFull;

    public double? Middle { get; private set; }

    public double? Upper { get; private set; }

    public double? Lower { get; private set; }

    public double? PercentB { get; private set; }

    public double? ZScore { get; private set; }

    public double? Width { get; private set; }

    public void Update(in Ohlcv bar)
    {
        var close = bar.Close;
        _window.Add(close);
        if (!_window.IsFull)
        {
            return;
        }

        var middle = _window.Mean;
        var deviation = Math.Sqrt(_window.Variance);
        var upper = middle + (Multiplier * deviation);
        var lower = middle - (Multiplier * deviation);
        Middle = Numeric.OrNull(middle);
        Upper = Numeric.OrNull(upper);
        Lower = Numeric.OrNull(lower);

        // A flat window has no spread: %B and the z-score are undefined (null), not 0/0.
        PercentB = upper == lower ? null : Numeric.OrNull((close - lower) / (upper - lower));
        ZScore = deviation == 0 ? null : Numeric.OrNull((close - middle) / deviation);
        Width = middle == 0 ? null : Numeric.OrNull((upper - lower) / middle);
    }

    public double? Output(int index) => index switch
    {
        0 => Middle,
        1 => Upper,
        2 => Lower,
        3 => PercentB,
        4 => ZScore,
        5 => Width,
        _ => throw Guard.BadOutputIndex(index, OutputNames.Length),
    };

    public static void Batch(ReadOnlySpan<Ohlcv> bars, Span<BollingerPoint> output, int period = 20, double multiplier = 2)
    {
        Guard.OutputLength(bars.Length, output.Length);
        var indicator = new BollingerBands(period, multiplier);
        for (var i = 0; i < bars.Length; i++)
        {
            indicator.Update(in bars[i]);
            output[i] = new BollingerPoint(
                indicator.Middle, indicator.Upper, indicator.Lower, indicator.PercentB, indicator.ZScore, indicator.Width);
        }
    }
}
