namespace DistortSignals.Core.Indicators;

/// <summary>Williams %R: raw %K minus 100, in [-100, 0]; -100 when the window has no range.</summary>
public sealed class WilliamsR : IIndicator
{
    private static readonly string[] OutputNames = ["williamsR"];
    private readonly RawStochastic _raw;
    private bool _isReady;

    public WilliamsR(int period = 14)
    {
        Guard.AtLeast(period, 1, nameof(period));
        Period = period;
        _raw = new RawStochastic(period);
        Id = IndicatorId.Format("WILLR", period);
    }

    public int Period { get; }

    public string Id { get; }

    public IReadOnlyList<string> Outputs => OutputNames;

    public int WarmupPeriod => Period;

    public bool IsReady => _isReady;

    public double? Value { get; private set; }

    public void Update(in Ohlcv bar)
    {
        if (_raw.Add(in bar, out var raw))
        {
            _isReady = true;
            Value = Numeric.OrNull(raw - 100);
        }
    }

    public double? Output(int index) => index == 0 ? Value : throw Guard.BadOutputIndex(index, 1);

    public static void Batch(ReadOnlySpan<Ohlcv> bars, Span<double?> output, int period = 14)
    {
        Guard.OutputLength(bars.Length, output.Length);
        var indicator = new WilliamsR(period);
        for (var i = 0; i < bars.Length; i++)
        {
            indicator.Update(in bars[i]);
            output[i] = indicator.Value;
        }
    }
}
