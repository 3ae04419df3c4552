namespace DistortSignals.Core.Indicators;

/// <summary>
/// Keltner channel: EMA of the close plus/minus <c>multiplier</c> times a Wilder ATR. All outputs
/// start together, once both the EMA (bar emaPeriod-1) and the ATR (bar atrPeriod) exist.
/// </summary>
public sealed class Keltner : IIndicator
{
    private static readonly string[] OutputNames = ["upperBand", "centerline", "lowerBand", "width"];
    private readonly Ema _ema;
    private readonly Atr _atr;

    public Keltner(int emaPeriod = 20, double multiplier = 2, int atrPeriod = 10)
    {
        Guard.AtLeast(emaPeriod, 1, nameof(emaPeriod));
        Guard.Positive(multiplier, nameof(multiplier));
        Guard.AtLeast(atrPeriod, 1, nameof(atrPeriod));
        EmaPeriod = emaPeriod;
        Multiplier = multiplier;
        AtrPeriod = atrPeriod;
        _ema = new Ema(emaPeriod);
        _atr = new Atr(atrPeriod);
        Id = IndicatorId.Format("KELTNER", emaPeriod, multiplier, atrPeriod);
    }

    public int EmaPeriod { get; }

    public double Multiplier { get; }

    public int AtrPeriod { get; }

    public string Id { get; }

    public IReadOnlyList<string> Outputs => OutputNames;

    public int WarmupPeriod => Math.Max(EmaPeriod, AtrPeriod + 1);

    public bool IsReady => _ema.IsReady && _atr.IsReady;

    public double? Upper { get; private set; }

    public double? Center { get; private set; }

    public double? Lower { get; private set; }

    public double? Width { get; private set; }

    public void Update(in Ohlcv bar)
    {
        _ema.Update(in bar);
        _atr.Update(in bar);
        if (_ema.Value is not double center || _atr.Value is not double atr)
        {
            // Before warm-up, or after an overflow made the EMA or ATR undefined: no stale channel.
            Upper = Center = Lower = Width = null;
            return;
        }

        var span = Multiplier * atr;
        var upper = center + span;
        var lower = center - span;
        Center = center;
        Upper = Numeric.OrNull(upper);
        Lower = Numeric.OrNull(lower);

        // Width relative to a zero centerline is undefined.
        Width = center == 0 ? null : Numeric.OrNull((upper - lower) / center);
    }

    public double? Output(int index) => index switch
    {
        0 => Upper,
        1 => Center,
        2 => Lower,
        3 => Width,
        _ => throw Guard.BadOutputIndex(index, OutputNames.Length),
    };

    public static void Batch(
        ReadOnlySpan<Ohlcv> bars, Span<ChannelPoint> output, int emaPeriod = 20, double multiplier = 2, int atrPeriod = 10)
    {
        Guard.OutputLength(bars.Length, output.Length);
        var indicator = new Keltner(emaPeriod, multiplier, atrPeriod);
        for (var i = 0; i < bars.Length; i++)
        {
            indicator.Update(in bars[i]);
            output[i] = new ChannelPoint(indicator.Upper, indicator.Center, indicator.Lower, indicator.Width);
        }
    }
}
