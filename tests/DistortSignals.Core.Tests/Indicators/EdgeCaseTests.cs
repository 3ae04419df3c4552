using DistortSignals.Core.Indicators;

namespace DistortSignals.Core.Tests.Indicators;

/// <summary>Data the reference never shows: flat, zero, gapped, extreme, tiny series and period 1.</summary>
public class EdgeCaseTests
{
    public static TheoryData<string> Ids() => IndicatorTestData.AllIdData();

    public static TheoryData<string, string> SeriesAndIds()
    {
        var data = new TheoryData<string, string>();
        foreach (var series in new[] { "flat", "zero", "gap", "huge", "tiny", "huge-gap", "single" })
        {
            foreach (var id in IndicatorTestData.AllIds)
            {
                data.Add(series, id);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(SeriesAndIds))]
    public void Never_emits_nan_or_infinity(string series, string id)
    {
        var bars = Series(series);
        var streamed = IndicatorTestData.Stream(id, bars);
        var batched = IndicatorTestData.Batch(IndicatorCatalog.Create(id), bars);
        foreach (var outputs in new[] { streamed, batched })
        {
            for (var o = 0; o < outputs.Length; o++)
            {
                for (var i = 0; i < bars.Length; i++)
                {
                    Assert.True(
                        outputs[o][i] is not double value || double.IsFinite(value),
                        $"{series} {id} output {o} bar {i}: {outputs[o][i]}");
                }
            }
        }
    }

    [Fact]
    public void Flat_series_leaves_spread_based_values_undefined()
    {
        var bars = IndicatorTestData.Flat(100, 100, 1_000);
        var bands = new BollingerBands();
        var cci = new Cci();
        var rsi = new Rsi();
        var atr = new Atr();
        var adx = new Adx();
        var stochastic = new Stochastic();
        var williams = new WilliamsR();
        var donchian = new Donchian();
        var superTrend = new SuperTrend();
        var obv = new Obv();
        var vwap = new Vwap();
        var sma = new Sma(20);
        var rsiValues = new List<double?>();
        foreach (var bar in bars)
        {
            foreach (var indicator in new IIndicator[] { bands, cci, rsi, atr, adx, stochastic, williams, donchian, superTrend, obv, vwap, sma })
            {
                indicator.Update(in bar);
            }

            rsiValues.Add(rsi.Value);
            Assert.Null(adx.PlusDi);
            Assert.Null(adx.Dx);
            Assert.Null(adx.Value);
        }

        Assert.Equal(100, sma.Value);
        Assert.Equal(100, bands.Middle);
        Assert.Equal(100, bands.Upper);
        Assert.Equal(100, bands.Lower);
        Assert.Null(bands.PercentB);
        Assert.Null(bands.ZScore);
        Assert.Equal(0, bands.Width);
        Assert.Null(cci.Value);

        // No movement on the first RSI bar is 0/0 (null); afterwards no loss means 100, as in the reference.
        Assert.Null(rsiValues[14]);
        Assert.All(rsiValues.Skip(15), v => Assert.Equal(100, v));
        Assert.Equal(0, atr.TrueRange);
        Assert.Equal(0, atr.Value);
        Assert.Equal(0, atr.Percent);
        Assert.Equal(0, stochastic.K);
        Assert.Equal(0, stochastic.D);
        Assert.Equal(0, stochastic.J);
        Assert.Equal(-100, williams.Value);
        Assert.Equal(100, donchian.Upper);
        Assert.Equal(0, donchian.Width);
        Assert.Equal(100, superTrend.Value);
        Assert.Equal(0, obv.Value);
        Assert.Equal(100, vwap.Value);
    }

    [Fact]
    public void Zero_prices_and_volume_leave_ratios_undefined()
    {
        var bars = IndicatorTestData.Flat(60, 0, 0);
        var vwap = new Vwap();
        var atr = new Atr();
        var bands = new BollingerBands();
        var donchian = new Donchian();
        var keltner = new Keltner();
        var obv = new Obv();
        foreach (var bar in bars)
        {
            foreach (var indicator in new IIndicator[] { vwap, atr, bands, donchian, keltner, obv })
            {
                indicator.Update(in bar);
            }

            Assert.Null(vwap.Value);
        }

        Assert.True(vwap.IsReady);
        Assert.Equal(0, atr.Value);
        Assert.Null(atr.Percent);
        Assert.Equal(0, bands.Middle);
        Assert.Null(bands.Width);
        Assert.Equal(0, donchian.Center);
        Assert.Null(donchian.Width);
        Assert.Equal(0, keltner.Center);
        Assert.Null(keltner.Width);
        Assert.Equal(0, obv.Value);
    }

    [Fact]
    public void A_huge_value_leaving_the_window_leaves_no_trace()
    {
        var bars = IndicatorTestData.RandomWalk(200, seed: 3);
        bars[100] = new Ohlcv(1e300, 1e300, 1e300, 1e300, 1);
        var sma = new Sma(20);
        var bands = new BollingerBands(20, 2);
        for (var i = 0; i < bars.Length; i++)
        {
            sma.Update(in bars[i]);
            bands.Update(in bars[i]);
            if (i is >= 100 and < 120)
            {
                // The squared deviation of 1e300 overflows: the band is undefined, never infinite.
                Assert.Null(bands.Upper);
            }
        }

        var fresh = 0.0;
        for (var i = bars.Length - 20; i < bars.Length; i++)
        {
            fresh += bars[i].Close;
        }

        Assert.Equal(fresh / 20, sma.Value!.Value, 1e-9);
        Assert.NotNull(bands.Upper);
    }

    [Fact]
    public void An_overflowed_range_publishes_nothing_stale()
    {
        var bars = IndicatorTestData.RandomWalk(60, seed: 17);
        var keltner = new Keltner();
        var superTrend = new SuperTrend();
        foreach (var bar in bars)
        {
            keltner.Update(in bar);
            superTrend.Update(in bar);
        }

        Assert.NotNull(keltner.Upper);
        Assert.NotNull(superTrend.Value);

        // A true range of 2e308 overflows, and a Wilder average never forgets it: the ATR-based
        // outputs become null for good instead of repeating the last finite values.
        var overflowing = new Ohlcv(0, 1e308, -1e308, 0, 1);
        keltner.Update(in overflowing);
        superTrend.Update(in overflowing);

        Assert.Null(keltner.Upper);
        Assert.Null(keltner.Center);
        Assert.Null(superTrend.Value);
        Assert.Null(superTrend.IsBullish);
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void A_single_bar_is_defined_only_where_one_bar_suffices(string id)
    {
        var indicator = IndicatorCatalog.Create(id);
        var bar = new Ohlcv(10, 12, 9, 11, 500);
        indicator.Update(in bar);

        Assert.Equal(indicator.WarmupPeriod == 1, indicator.IsReady);
        var outputs = IndicatorTestData.DefinedOutputs(indicator);
        var defined = outputs.Count(o => indicator.Output(o) is not null);
        Assert.True(
            indicator.IsReady ? defined == outputs.Length : defined < outputs.Length,
            $"{id}: {defined} of {outputs.Length} outputs defined after one bar, IsReady={indicator.IsReady}");
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void Becomes_ready_exactly_after_the_warmup_period_with_all_defined_outputs(string id)
    {
        var bars = IndicatorTestData.RandomWalk(300, seed: 11);
        var indicator = IndicatorCatalog.Create(id);
        var defined = IndicatorTestData.DefinedOutputs(indicator);
        for (var i = 0; i < bars.Length; i++)
        {
            indicator.Update(in bars[i]);
            var allDefined = defined.All(o => indicator.Output(o) is not null);
            Assert.True(indicator.IsReady == (i + 1 >= indicator.WarmupPeriod), $"{id} IsReady={indicator.IsReady} after {i + 1} bars");
            Assert.True(allDefined == indicator.IsReady, $"{id} after {i + 1} bars: all defined={allDefined}, IsReady={indicator.IsReady}");
        }
    }

    [Fact]
    public void Period_one_follows_the_current_or_previous_bar()
    {
        var bars = IndicatorTestData.RandomWalk(50, seed: 5);
        var sma = new Sma(1);
        var ema = new Ema(1);
        var donchian = new Donchian(1);
        var williams = new WilliamsR(1);
        var cci = new Cci(1);
        for (var i = 0; i < bars.Length; i++)
        {
            foreach (var indicator in new IIndicator[] { sma, ema, donchian, williams, cci })
            {
                indicator.Update(in bars[i]);
            }

            Assert.Equal(bars[i].Close, sma.Value);
            Assert.Equal(bars[i].Close, ema.Value);
            Assert.InRange(williams.Value!.Value, -100, 0);

            // One typical price has no deviation from its own mean.
            Assert.Null(cci.Value);
            if (i > 0)
            {
                Assert.Equal(bars[i - 1].High, donchian.Upper);
                Assert.Equal(bars[i - 1].Low, donchian.Lower);
            }
        }
    }

    private static Ohlcv[] Series(string name) => name switch
    {
        "flat" => IndicatorTestData.Flat(150, 0.1, 3),
        "zero" => IndicatorTestData.Flat(150, 0, 0),
        "gap" => Gap(1, 1e6),
        "huge" => Scaled(1e300),
        "tiny" => Scaled(1e-300),
        "huge-gap" => Gap(1, 1e300),
        "single" => [new Ohlcv(1, 1, 1, 1, 1)],
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };

    private static Ohlcv[] Scaled(double scale) => IndicatorTestData.RandomWalk(150, seed: 9)
        .Select(b => new Ohlcv(b.Open * scale, b.High * scale, b.Low * scale, b.Close * scale, b.Volume))
        .ToArray();

    private static Ohlcv[] Gap(double before, double after) => IndicatorTestData.RandomWalk(150, seed: 13)
        .Select((b, i) => i < 75
            ? new Ohlcv(b.Open * before, b.High * before, b.Low * before, b.Close * before, b.Volume)
            : new Ohlcv(b.Open * after, b.High * after, b.Low * after, b.Close * after, b.Volume))
        .ToArray();
}
