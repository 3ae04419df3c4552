namespace DistortSignals.Core.Indicators;

/// <summary>
/// Commodity channel index: (TP - SMA(TP)) / (0.015 * mean absolute deviation of TP about that SMA),
/// TP = (H+L+C)/3. The deviation is summed over the window each bar: O(period), as it depends on the mean.
/// </summary>
public sealed class Cci : IIndicator
{
    private static readonly string[] OutputNames = ["cci"];
    private readonly RollingWindow _typical;

    public Cci(int period = 20)
    {
        Guard.AtLeast(period, 1, nameof(period));
        Period = period;
        _typical = new RollingWindow(period, trackVariance: false);
        Id = IndicatorId.Format("CCI", period);
    }

    public int Period { get; }

    public string Id { get; }

    public IReadOnlyList<string> Outputs => OutputNames;

    public int WarmupPeriod => Period;

    public bool IsReady => _typical.IsFull;

    public double? Value { get; private set; }

    public void Update(in Ohlcv bar)
    {
        var typical = (bar.High + bar.Low + bar.Close) / 3;
        _typical.Add(typical);
        if (!_typical.IsFull)
        {
            return;
        }

        var mean = _typical.Mean;
        var deviation = _typical.MeanAbsoluteDeviation(mean);

        // No deviation (a flat window) leaves CCI undefined.
        Value = deviation == 0 ? null : Numeric.OrNull((typical - mean) / (0.015 * deviation));
    }

    public double? Output(int index) => index == 0 ? Value : throw Guard.BadOutputIndex(index, 1);

    public static void Batch(ReadOnlySpan<Ohlcv> bars, Span<double?> output, int period = 20)
    {
        Guard.OutputLength(bars.Length, output.Length);
        var indicator = new Cci(period);
        for (var i = 0; i < bars.Length; i++)
        {
            indicator.Update(in bars[i]);
            output[i] = indicator.Value;
        }
    }
}
