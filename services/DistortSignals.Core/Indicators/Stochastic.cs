namespace DistortSignals.Core.Indicators;

/// <summary>One bar of <see cref="Stochastic"/>.</summary>
public readonly record struct StochasticPoint(double? K, double? D, double? J);

/// <summary>
/// Slow stochastic: %K is the SMA over <c>smooth</c> bars of the raw %K over <c>lookback</c> bars,
/// %D the SMA over <c>signal</c> bars of %K, and %J = 3K - 2D.
/// </summary>
public sealed class Stochastic : IIndicator
{
    private static readonly string[] OutputNames = ["oscillator", "signal", "percentJ"];
    private readonly RawStochastic _raw;
    private readonly RollingWindow _k;
    private readonly RollingWindow _d;

    public Stochastic(int lookback = 14, int signal = 3, int smooth = 3)
    {
        Guard.AtLeast(lookback, 1, nameof(lookback));
        Guard.AtLeast(signal, 1, nameof(signal));
        Guard.AtLeast(smooth, 1, nameof(smooth));
        Lookback = lookback;
        SignalPeriod = signal;
        SmoothPeriod = smooth;
        _raw = new RawStochastic(lookback);
        _k = new RollingWindow(smooth, trackVariance: false);
        _d = new RollingWindow(signal, trackVariance: false);
        Id = IndicatorId.Format("STOCH", lookback, signal, smooth);
    }

    public int Lookback { get; }

    public int SignalPeriod { get; }

    public int SmoothPeriod { get; }

    public string Id { get; }

    public IReadOnlyList<string> Outputs => OutputNames;

    public int WarmupPeriod => Lookback + SmoothPeriod + SignalPeriod - 2;

    public bool IsReady => _d.IsFull;

    public double? K { get; private set; }

    public double? D { get; private set; }

    public double? J { get; private set; }

    public void Update(in Ohlcv bar)
    {
        if (!_raw.Add(in bar, out var raw))
        {
            return;
        }

        _k.Add(raw);
        if (!_k.IsFull)
        {
            return;
        }

        var k = _k.Mean;
        K = Numeric.OrNull(k);
        _d.Add(k);
        if (_d.IsFull)
        {
            var d = _d.Mean;
            D = Numeric.OrNull(d);
            J = Numeric.OrNull((3 * k) - (2 * d));
        }
    }

    public double? Output(int index) => index switch
    {
        0 => K,
        1 => D,
        2 => J,
        _ => throw Guard.BadOutputIndex(index, OutputNames.Length),
    };

    public static void Batch(ReadOnlySpan<Ohlcv> bars, Span<StochasticPoint> output, int lookback = 14, int signal = 3, int smooth = 3)
    {
        Guard.OutputLength(bars.Length, output.Length);
        var indicator = new Stochastic(lookback, signal, smooth);
        for (var i = 0; i < bars.Length; i++)
        {
            indicator.Update(in bars[i]);
            output[i] = new StochasticPoint(indicator.K, indicator.D, indicator.J);
        }
    }
}
