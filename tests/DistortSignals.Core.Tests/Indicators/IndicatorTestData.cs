using DistortSignals.Core.Indicators;

namespace DistortSignals.Core.Tests.Indicators;

internal delegate void BatchFunction<T>(ReadOnlySpan<Ohlcv> bars, Span<T> output);

/// <summary>Shared inputs for the indicator tests: the reference IDs, synthetic series and the batch adapter.</summary>
internal static class IndicatorTestData
{
    public static readonly string[] ReferenceIds =
    [
        "SMA(20)", "EMA(20)", "EMA(50)", "RSI(14)", "RSI(2)", "MACD(12,26,9)", "BB(20,2)", "ATR(14)", "ADX(14)",
        "STOCH(14,3,3)", "WILLR(14)", "CCI(20)", "OBV", "DONCHIAN(20)", "KELTNER(20,2,10)", "SUPERTREND(10,3)", "VWAP",
    ];

    /// <summary>The reference configurations plus small and unusual parameters.</summary>
    public static readonly string[] AllIds =
    [
        .. ReferenceIds,
        "SMA(1)", "EMA(1)", "RSI(1)", "MACD(1,2,1)", "BB(1,2)", "BB(5,0.5)", "ATR(1)", "ADX(1)", "STOCH(1,1,1)", "STOCH(5,1,2)",
        "WILLR(1)", "CCI(1)", "DONCHIAN(1)", "KELTNER(1,2,1)", "KELTNER(5,1.5,30)", "SUPERTREND(1,3)",
    ];

    public static TheoryData<string> AllIdData() => new(AllIds);

    /// <summary>A deterministic random walk with consistent OHLC and random volume.</summary>
    public static Ohlcv[] RandomWalk(int count, int seed, double start = 100)
    {
        var random = new Random(seed);
        var bars = new Ohlcv[count];
        var close = start;
        for (var i = 0; i < count; i++)
        {
            var open = close;
            close = Math.Max(0.01, open + ((random.NextDouble() - 0.5) * 2));
            var high = Math.Max(open, close) + (random.NextDouble() * 0.5);
            var low = Math.Max(0.001, Math.Min(open, close) - (random.NextDouble() * 0.5));
            bars[i] = new Ohlcv(open, high, low, close, Math.Floor(random.NextDouble() * 1_000_000));
        }

        return bars;
    }

    public static Ohlcv[] Flat(int count, double price, double volume) =>
        Enumerable.Repeat(new Ohlcv(price, price, price, price, volume), count).ToArray();

    /// <summary>Runs the indicator's own Batch with the same parameters as <paramref name="shape"/>; one array per output.</summary>
    public static double?[][] Batch(IIndicator shape, ReadOnlySpan<Ohlcv> bars) => shape switch
    {
        Sma s => Single(bars, (b, o) => Sma.Batch(b, o, s.Period)),
        Ema e => Single(bars, (b, o) => Ema.Batch(b, o, e.Period)),
        Rsi r => Single(bars, (b, o) => Rsi.Batch(b, o, r.Period)),
        Macd m => Multi<MacdPoint>(
            bars, (b, o) => Macd.Batch(b, o, m.FastPeriod, m.SlowPeriod, m.SignalPeriod),
            p => [p.Line, p.Signal, p.Histogram, p.FastEma, p.SlowEma]),
        BollingerBands bb => Multi<BollingerPoint>(
            bars, (b, o) => BollingerBands.Batch(b, o, bb.Period, bb.Multiplier),
            p => [p.Middle, p.Upper, p.Lower, p.PercentB, p.ZScore, p.Width]),
        Atr a => Multi<AtrPoint>(bars, (b, o) => Atr.Batch(b, o, a.Period), p => [p.TrueRange, p.Value, p.Percent]),
        Adx a => Multi<AdxPoint>(bars, (b, o) => Adx.Batch(b, o, a.Period), p => [p.PlusDi, p.MinusDi, p.Dx, p.Value, p.Adxr]),
        Stochastic s => Multi<StochasticPoint>(
            bars, (b, o) => Stochastic.Batch(b, o, s.Lookback, s.SignalPeriod, s.SmoothPeriod), p => [p.K, p.D, p.J]),
        WilliamsR w => Single(bars, (b, o) => WilliamsR.Batch(b, o, w.Period)),
        Cci c => Single(bars, (b, o) => Cci.Batch(b, o, c.Period)),
        Obv => Single(bars, Obv.Batch),
        Donchian d => Multi<ChannelPoint>(bars, (b, o) => Donchian.Batch(b, o, d.Period), Channel),
        Keltner k => Multi<ChannelPoint>(bars, (b, o) => Keltner.Batch(b, o, k.EmaPeriod, k.Multiplier, k.AtrPeriod), Channel),
        SuperTrend s => Multi<SuperTrendPoint>(bars, (b, o) => SuperTrend.Batch(b, o, s.AtrPeriod, s.Multiplier), p => [p.Value, p.Upper, p.Lower]),
        Vwap => Single(bars, Vwap.Batch),
        _ => throw new ArgumentOutOfRangeException(nameof(shape), shape.Id, "no batch adapter"),
    };

    /// <summary>Streams the bars through a fresh indicator; one array per output.</summary>
    public static double?[][] Stream(string id, ReadOnlySpan<Ohlcv> bars)
    {
        var indicator = IndicatorCatalog.Create(id);
        var result = NewOutputs(indicator.Outputs.Count, bars.Length);
        for (var i = 0; i < bars.Length; i++)
        {
            indicator.Update(in bars[i]);
            for (var o = 0; o < result.Length; o++)
            {
                result[o][i] = indicator.Output(o);
            }
        }

        return result;
    }

    /// <summary>
    /// Indexes of the outputs that are defined by construction once warmed up: SuperTrend's bands alternate
    /// by design, and a one-bar window has no spread, so BB's %B and z-score and CCI never exist there.
    /// </summary>
    public static int[] DefinedOutputs(IIndicator indicator) => indicator switch
    {
        SuperTrend => [0],
        BollingerBands { Period: 1 } => [0, 1, 2, 5],
        Cci { Period: 1 } => [],
        _ => Enumerable.Range(0, indicator.Outputs.Count).ToArray(),
    };

    private static double?[] Channel(ChannelPoint p) => [p.Upper, p.Center, p.Lower, p.Width];

    private static double?[][] Single(ReadOnlySpan<Ohlcv> bars, BatchFunction<double?> batch)
    {
        var output = new double?[bars.Length];
        batch(bars, output);
        return [output];
    }

    private static double?[][] Multi<T>(ReadOnlySpan<Ohlcv> bars, BatchFunction<T> batch, Func<T, double?[]> split)
    {
        var points = new T[bars.Length];
        batch(bars, points);
        var first = bars.Length == 0 ? [] : split(points[0]);
        var result = NewOutputs(first.Length, bars.Length);
        for (var i = 0; i < points.Length; i++)
        {
            var values = split(points[i]);
            for (var o = 0; o < values.Length; o++)
            {
                result[o][i] = values[o];
            }
        }

        return result;
    }

    private static double?[][] NewOutputs(int outputs, int bars)
    {
        var result = new double?[outputs][];
        for (var o = 0; o < outputs; o++)
        {
            result[o] = new double?[bars];
        }

        return result;
    }
}
