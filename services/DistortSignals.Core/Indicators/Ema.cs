namespace DistortSignals.Core.Indicators;

/// <summary>Exponential moving average of the close, seeded with the SMA of the first <c>period</c> closes.</summary>
public sealed class Ema : IIndicator
{
    private static readonly string[] OutputNames = ["ema"];
    private readonly SeededEma _ema;

    public Ema(int period)
    {
        Guard.AtLeast(period, 1, nameof(period));
        Period = period;
        _ema = new SeededEma(period);
        Id = IndicatorId.Format("EMA", period);
    }

    public int Period { get; }

    public string Id { get; }

    public IReadOnlyList<string> Outputs => OutputNames;

    public int WarmupPeriod => Period;

    public bool IsReady => _ema.IsReady;

    public double? Value { get; private set; }

    public void Update(in Ohlcv bar)
    {
        _ema.Add(bar.Close);
        Value = _ema.IsReady ? Numeric.OrNull(_ema.Value) : null;
    }

    public double? Output(int index) => index == 0 ? Value : throw Guard.BadOutputIndex(index, 1);

    public static void Batch(ReadOnlySpan<Ohlcv> bars, Span<double?> output, int period)
    {
        Guard.OutputLength(bars.Length, output.Length);
        var indicator = new Ema(period);
        for (var i = 0; i < bars.Length; i++)
        {
            indicator.Update(in bars[i]);
            output[i] = indicator.Value;
        }
    }
}
