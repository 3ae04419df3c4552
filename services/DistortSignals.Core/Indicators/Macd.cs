namespace DistortSignals.Core.Indicators;

/// <summary>One bar of <see cref="Macd"/>.</summary>
public readonly record struct MacdPoint(double? Line, double? Signal, double? Histogram, double? FastEma, double? SlowEma);

/// <summary>
/// MACD: fast EMA minus slow EMA of the close (both SMA-seeded); the signal is an EMA of the MACD line
/// seeded with the SMA of its first <c>signal</c> values.
/// </summary>
public sealed class Macd : IIndicator
{
    private static readonly string[] OutputNames = ["macd", "signal", "histogram", "fastEma", "slowEma"];
    private readonly Ema _fast;
    private readonly Ema _slow;
    private readonly SeededEma _signal;

    public Macd(int fast = 12, int slow = 26, int signal = 9)
    {
        Guard.AtLeast(fast, 1, nameof(fast));
        Guard.AtLeast(slow, fast + 1, nameof(slow));
        Guard.AtLeast(signal, 1, nameof(signal));
        FastPeriod = fast;
        SlowPeriod = slow;
        SignalPeriod = signal;
        _fast = new Ema(fast);
        _slow = new Ema(slow);
        _signal = new SeededEma(signal);
        Id = IndicatorId.Format("MACD", fast, slow, signal);
    }

    public int FastPeriod { get; }

    public int SlowPeriod { get; }

    public int SignalPeriod { get; }

    public string Id { get; }

    public IReadOnlyList<string> Outputs => OutputNames;

    public int WarmupPeriod => SlowPeriod + SignalPeriod - 1;

    public bool IsReady => _signal.IsReady;

    public double? Line { get; private set; }

    public double? Signal { get; private set; }

    public double? Histogram { get; private set; }

    public double? FastEma => _fast.Value;

    public double? SlowEma => _slow.Value;

    public void Update(in Ohlcv bar)
    {
        _fast.Update(in bar);
        _slow.Update(in bar);
        if (!_slow.IsReady)
        {
            return;
        }

        // Non-finite EMAs (overflow) surface as NaN here and as null through Numeric.OrNull.
        var line = (_fast.Value ?? double.NaN) - (_slow.Value ?? double.NaN);
        Line = Numeric.OrNull(line);
        _signal.Add(line);
        if (_signal.IsReady)
        {
            Signal = Numeric.OrNull(_signal.Value);
            Histogram = Numeric.OrNull(line - _signal.Value);
        }
    }

    public double? Output(int index) => index switch
    {
        0 => Line,
        1 => Signal,
        2 => Histogram,
        3 => FastEma,
        4 => SlowEma,
        _ => throw Guard.BadOutputIndex(index, OutputNames.Length),
    };

    public static void Batch(ReadOnlySpan<Ohlcv> bars, Span<MacdPoint> output, int fast = 12, int slow = 26, int signal = 9)
    {
        Guard.OutputLength(bars.Length, output.Length);
        var indicator = new Macd(fast, slow, signal);
        for (var i = 0; i < bars.Length; i++)
        {
            indicator.Update(in bars[i]);
            output[i] = new MacdPoint(indicator.Line, indicator.Signal, indicator.Histogram, indicator.FastEma, indicator.SlowEma);
        }
    }
}
