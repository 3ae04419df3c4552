using System.Globalization;
using System.Text;
using DistortSignals.Core.Market;

namespace DistortSignals.Testing;

/// <summary>
/// Deterministic EURUSD ticks, <see cref="TicksPerMinute"/> per market minute at whole 6-second steps, as NDJSON
/// batches of fifty minutes for POST /api/v1/ticks. With the fast M1 strategies of the tests' resources they make
/// about one signal per thirty minutes.
/// </summary>
public static class MinuteTicks
{
    public const int TicksPerMinute = 10;

    /// <param name="start">A minute far in the past, so that only ticks close bars and never the wall-clock watermark.</param>
    public static IEnumerable<string> NdjsonBatches(DateTimeOffset start, int minutes, ulong seed, string source)
    {
        var market = new SyntheticMarket("EURUSD", 1.0850, seed);
        for (var first = 0; first < minutes; first += 50)
        {
            var body = new StringBuilder();
            for (var minute = first; minute < Math.Min(minutes, first + 50); minute++)
            {
                for (var i = 0; i < TicksPerMinute; i++)
                {
                    var tick = market.NextTick(start.AddMinutes(minute).AddSeconds(i * 60 / TicksPerMinute), TicksPerMinute, 0.0002, source);
                    body.Append(CultureInfo.InvariantCulture,
                        $"{{\"symbol\":\"EURUSD\",\"time\":\"{tick.Time:yyyy-MM-ddTHH:mm:ssZ}\",\"bid\":{tick.Bid},\"ask\":{tick.Ask},\"volume\":{tick.Volume}}}\n");
                }
            }

            yield return body.ToString();
        }
    }
}
