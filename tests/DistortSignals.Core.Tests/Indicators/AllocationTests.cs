using DistortSignals.Core.Indicators;

namespace DistortSignals.Core.Tests.Indicators;

public class AllocationTests
{
    private const int Attempts = 3;

    public static TheoryData<string> Ids() => IndicatorTestData.AllIdData();

    [Theory]
    [MemberData(nameof(Ids))]
    public void Update_allocates_nothing_after_warm_up(string id)
    {
        var bars = IndicatorTestData.RandomWalk(2_000 + (Attempts * 10_000), seed: 7);
        var indicator = IndicatorCatalog.Create(id);
        var outputs = indicator.Outputs.Count;
        for (var i = 0; i < 2_000; i++)
        {
            Feed(indicator, in bars[i], outputs);
        }

        // The runtime itself occasionally allocates on this thread while it re-tiers hot methods; an
        // allocation in Update would show in every attempt (10,000 updates each), so the least counts.
        var least = long.MaxValue;
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            var start = 2_000 + (attempt * 10_000);
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = start; i < start + 10_000; i++)
            {
                Feed(indicator, in bars[i], outputs);
            }

            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.True(least == 0, $"{id}: {least} bytes allocated over 10,000 updates");
    }

    private static void Feed(IIndicator indicator, in Ohlcv bar, int outputs)
    {
        indicator.Update(in bar);
        for (var o = 0; o < outputs; o++)
        {
            _ = indicator.Output(o);
        }
    }
}
