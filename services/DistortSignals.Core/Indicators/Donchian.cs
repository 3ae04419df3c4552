namespace DistortSignals.Core.Indicators;

/// <summary>
/// Donchian channel over the previous <c>period</c> bars, excluding the current one (the reference's
/// convention; charting packages that include the current bar are shifted by one bar).
/// </summary>
public sealed class Donchian : IIndicator
{
    private static readonly string[] OutputNames = ["upperBand", "centerline", "lowerBand", "width"];
    private readonly SlidingExtremum _highest;
    private readonly SlidingExtremum _lowest;

    public Donchian(int period = 20)
    {
        Guard.AtLeast(period, 1, nameof(period));
        Period = period;
        _highest = SlidingExtremum.Maximum(period);
        _lowest = SlidingExtremum.Minimum(period);
        Id = IndicatorId.Format("DONCHIAN", period);
    }

    public int Period { get; }

    public string Id { get; }

    public IReadOnlyList<string> Outputs => OutputNames;

    public int WarmupPeriod => Period + 1;

    public bool IsReady => Upper.HasValue;

    public double? Upper { get; private set; }

    public double? Center { get; private set; }

    public double? Lower { get; private set; }

    public double? Width { get; private set; }

    public void Update(in Ohlcv bar)
    {
        // The window so far holds the previous bars only; this bar joins it afterwards.
        if (_highest.IsFull)
        {
            var upper = _highest.Value;
            var lower = _lowest.Value;
            var center = (upper + lower) / 2;
            Upper = Numeric.OrNull(upper);
            Lower = Numeric.OrNull(lower);
            Center = Numeric.OrNull(center);

            // Width relative to a zero centerline is undefined.
            Width = center == 0 ? null : Numeric.OrNull((upper - lower) / center);
        }

        _highest.Add(bar.High);
        _lowest.Add(bar.Low);
    }

    public double? Output(int index) => index switch
    {
        0 => Upper,
        1 => Center,
        2 => Lower,
        3 => Width,
        _ => throw Guard.BadOutputIndex(index, OutputNames.Length),
    };

    public static void Batch(ReadOnlySpan<Ohlcv> bars, Span<ChannelPoint> output, int period = 20)
    {
        Guard.OutputLength(bars.Length, output.Length);
        var indicator = new Donchian(period);
        for (var i = 0; i < bars.Length; i++)
        {
            indicator.Update(in bars[i]);
            output[i] = new ChannelPoint(indicator.Upper, indicator.Center, indicator.Lower, indicator.Width);
        }
    }
}
