namespace DistortSignals.Core.Indicators;

/// <summary>Simple moving average of the close over the last <c>period</c> bars.</summary>
public sealed class Sma : IIndicator
{
    private static readonly string[] OutputNames = ["sma"];
    private readonly RollingWindow _window;

    public Sma(int period)
    {
        Guard.AtLeast(period, 1, nameof(period));
        Period = period;
        _window = new RollingWindow(period, trackVariance: false);
        Id = IndicatorId.Format("SMA", period);
    }

    public int Period { get; }

    public string Id { get; }

    public IReadOnlyList<string> Outputs => OutputNames;

    public int WarmupPeriod => Period;

    public bool IsReady => _window.IsFull;

    public double? Value { get; private set; }

    public void Update(in Ohlcv bar)
    {
        _window.Add(bar.Close);
        Value = _window.IsFull ? Numeric.OrNull(_window.Mean) : null;
    }

    public double? Output(int index) => index == 0 ? Value : throw Guard.BadOutputIndex(index, 1);

    public static void Batch(ReadOnlySpan<Ohlcv> bars, Span<double?> output, int period)
    {
        Guard.OutputLength(bars.Length, output.Length);
        var indicator = new Sma(period);
        for (var i = 0; i < bars.Length; i++)
        {
            indicator.Update(in bars[i]);
            output[i] = indicator.Value;
        }
    }
}
