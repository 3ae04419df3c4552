namespace DistortSignals.Core.Indicators;

/// <summary>On-balance volume, starting at 0 on the first bar (not at its volume).</summary>
public sealed class Obv : IIndicator
{
    private static readonly string[] OutputNames = ["obv"];
    private bool _hasPrevious;
    private double _previousClose;
    private double _total;

    public string Id => "OBV";

    public IReadOnlyList<string> Outputs => OutputNames;

    public int WarmupPeriod => 1;

    public bool IsReady => _hasPrevious;

    public double? Value { get; private set; }

    public void Update(in Ohlcv bar)
    {
        var close = bar.Close;
        if (_hasPrevious)
        {
            if (close > _previousClose)
            {
                _total += bar.Volume;
            }
            else if (close < _previousClose)
            {
                _total -= bar.Volume;
            }
        }

        _hasPrevious = true;
        _previousClose = close;
        Value = Numeric.OrNull(_total);
    }

    public double? Output(int index) => index == 0 ? Value : throw Guard.BadOutputIndex(index, 1);

    public static void Batch(ReadOnlySpan<Ohlcv> bars, Span<double?> output)
    {
        Guard.OutputLength(bars.Length, output.Length);
        var indicator = new Obv();
        for (var i = 0; i < bars.Length; i++)
        {
            indicator.Update(in bars[i]);
            output[i] = indicator.Value;
        }
    }
}
