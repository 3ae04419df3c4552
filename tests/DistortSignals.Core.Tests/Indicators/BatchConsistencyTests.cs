using DistortSignals.Core.Indicators;

namespace DistortSignals.Core.Tests.Indicators;

public class BatchConsistencyTests
{
    private static readonly Lazy<Ohlcv[]> LongSeries = new(() => IndicatorTestData.RandomWalk(100_000, seed: 20170103, start: 250));

    public static TheoryData<string> Ids() => IndicatorTestData.AllIdData();

    [Theory]
    [MemberData(nameof(Ids))]
    public void Batch_equals_streaming_on_a_long_random_series(string id)
    {
        var bars = LongSeries.Value;
        var streamed = IndicatorTestData.Stream(id, bars);
        var batched = IndicatorTestData.Batch(IndicatorCatalog.Create(id), bars);

        Assert.Equal(streamed.Length, batched.Length);
        for (var o = 0; o < streamed.Length; o++)
        {
            for (var i = 0; i < bars.Length; i++)
            {
                if (!Nullable.Equals(streamed[o][i], batched[o][i]))
                {
                    Assert.Fail($"{id} output {o} bar {i}: streaming {streamed[o][i]}, batch {batched[o][i]}");
                }
            }
        }
    }

    [Fact]
    public void Running_sums_do_not_drift_from_fresh_sums()
    {
        const int Period = 20;
        var bars = LongSeries.Value;
        var sma = new Sma(Period);
        var bands = new BollingerBands(Period, 1);
        for (var i = 0; i < bars.Length; i++)
        {
            sma.Update(in bars[i]);
            bands.Update(in bars[i]);
            if (i < Period - 1)
            {
                continue;
            }

            var sum = 0.0;
            for (var j = i - Period + 1; j <= i; j++)
            {
                sum += bars[j].Close;
            }

            var mean = sum / Period;
            var squares = 0.0;
            for (var j = i - Period + 1; j <= i; j++)
            {
                squares += (bars[j].Close - mean) * (bars[j].Close - mean);
            }

            var deviation = Math.Sqrt(squares / Period);
            AssertClose(mean, sma.Value!.Value, $"SMA at bar {i}");
            AssertClose(deviation, bands.Upper!.Value - bands.Middle!.Value, $"BB deviation at bar {i}");
        }
    }

    private static void AssertClose(double expected, double actual, string what) =>
        Assert.True(
            Math.Abs(actual - expected) <= 1e-9 * Math.Max(1, Math.Abs(expected)),
            $"{what}: fresh {expected:R}, running {actual:R}");
}
