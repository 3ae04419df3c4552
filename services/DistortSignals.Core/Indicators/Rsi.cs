namespace DistortSignals.Core.Indicators;

/// <summary>
/// Relative strength index with Wilder smoothing. The change at bar 0 counts as nothing, so the first
/// value is at bar <c>period</c>: the mean gain and loss of bars 1..period.
/// </summary>
public sealed class Rsi : IIndicator
{
    private static readonly string[] OutputNames = ["rsi"];
    private readonly WilderAverage _gain;
    private readonly WilderAverage _loss;
    private bool _hasPrevious;
    private double _previousClose;
    private bool _hasValue;

    public Rsi(int period = 14)
    {
        Guard.AtLeast(period, 1, nameof(period));
        Period = period;
        _gain = new WilderAverage(period);
        _loss = new WilderAverage(period);
        Id = IndicatorId.Format("RSI", period);
    }

    public int Period { get; }

    public string Id { get; }

    public IReadOnlyList<string> Outputs => OutputNames;

    public int WarmupPeriod => Period + 1;

    public bool IsReady => _gain.IsReady;

    public double? Value { get; private set; }

    public void Update(in Ohlcv bar)
    {
        var close = bar.Close;
        if (!_hasPrevious)
        {
            _hasPrevious = true;
            _previousClose = close;
            return;
        }

        var change = close - _previousClose;
        _previousClose = close;
        _gain.Add(change > 0 ? change : 0);
        _loss.Add(change < 0 ? -change : 0);
        if (!_gain.IsReady)
        {
            return;
        }

        var averageGain = _gain.Value;
        var averageLoss = _loss.Value;
        var first = !_hasValue;
        _hasValue = true;

        // The reference: no loss means 100, except on the very first value, where no movement at all
        // (0/0) has no strength to report and gives null.
        Value = averageLoss > 0 ? Numeric.OrNull(100 - (100 / (1 + (averageGain / averageLoss))))
            : first && averageGain == 0 ? null
            : 100;
    }

    public double? Output(int index) => index == 0 ? Value : throw Guard.BadOutputIndex(index, 1);

    public static void Batch(ReadOnlySpan<Ohlcv> bars, Span<double?> output, int period = 14)
    {
        Guard.OutputLength(bars.Length, output.Length);
        var indicator = new Rsi(period);
        for (var i = 0; i < bars.Length; i++)
        {
            indicator.Update(in bars[i]);
            output[i] = indicator.Value;
        }
    }
}
