using System.Globalization;
using System.Text;
using DistortSignals.Core.Market;

namespace DistortSignals.Host.Tests.Run;

/// <summary>
/// Deterministic EURUSD ticks, ten per market minute, as NDJSON batches of fifty minutes for POST /api/v1/ticks,
/// for the strategy and paper account in Resources/trading: about one signal per thirty minutes.
/// </summary>
internal static class MinuteTicks
{
    public const int TicksPerMinute = 10;

    /// <summary>Far in the past, so that only ticks close bars and never the wall-clock watermark.</summary>
    public static readonly DateTimeOffset MarketStart = new(2025, 4, 7, 0, 0, 0, TimeSpan.Zero);

    public static string TradingResources => Path.Combine(AppContext.BaseDirectory, "Resources", "trading");

    public static IEnumerable<string> NdjsonBatches(int minutes)
    {
        var market = new SyntheticMarket("EURUSD", 1.0850, seed: 11);
        for (var start = 0; start < minutes; start += 50)
        {
            var body = new StringBuilder();
            for (var minute = start; minute < Math.Min(minutes, start + 50); minute++)
            {
                for (var i = 0; i < TicksPerMinute; i++)
                {
                    var tick = market.NextTick(MarketStart.AddMinutes(minute).AddSeconds(i * 60 / TicksPerMinute), TicksPerMinute, 0.0002, "flow");
                    body.Append(CultureInfo.InvariantCulture,
                        $"{{\"symbol\":\"EURUSD\",\"time\":\"{tick.Time:yyyy-MM-ddTHH:mm:ssZ}\",\"bid\":{tick.Bid},\"ask\":{tick.Ask},\"volume\":{tick.Volume}}}\n");
                }
            }

            yield return body.ToString();
        }
    }
}
