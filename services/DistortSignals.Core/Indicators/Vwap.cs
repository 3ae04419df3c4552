namespace DistortSignals.Core.Indicators;

/// <summary>
/// Volume-weighted average of the typical price (H+L+C)/3, anchored at the first bar and never reset
/// (no sessions). Null while the cumulative volume is 0.
/// </summary>
public sealed class Vwap : IIndicator
{
    private static readonly string[] OutputNames = ["vwap"];
    private double _volume;
    private double _weighted;
    private bool _hasBar;

    public string Id => "VWAP";

    public IReadOnlyList<string> Outputs => OutputNames;

    public int WarmupPeriod => 1;

    public bool IsReady => _hasBar;

    public double? Value { get; private set; }

    public void Update(in Ohlcv bar)
    {
        _hasBar = true;
        _volume += bar.Volume;
        _weighted += bar.Volume * ((bar.High + bar.Low + bar.Close) / 3);
        Value = _volume == 0 ? null : Numeric.OrNull(_weighted / _volume);
    }

    public double? Output(int index) => index == 0 ? Value : throw Guard.BadOutputIndex(index, 1);

    public static void Batch(ReadOnlySpan<Ohlcv> bars, Span<double?> output)
    {
        Guard.OutputLength(bars.Length, output.Length);
        var indicator = new Vwap();
        for (var i = 0; i < bars.Length; i++)
        {
            indicator.Update(in bars[i]);
            output[i] = indicator.Value;
        }
    }
}
