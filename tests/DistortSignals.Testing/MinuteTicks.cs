using System.Globalization;
using System.Text;
using DistortSignals.Core.Market;

namespace DistortSignals.Testing;

/// <summary>
/// Deterministic ticks of one symbol (EURUSD unless told), <see cref="TicksPerMinute"/> per market minute at whole
/// 6-second steps, as NDJSON batches of fifty minutes for POST /api/v1/ticks. With the fast M1 strategies of the
/// tests' resources they make about one signal per thirty minutes.
/// </summary>
public static class MinuteTicks
{
    public const int TicksPerMinute = 10;

    /// <param name="start">A minute far in the past, so that only ticks close bars and never the wall-clock watermark.</param>
    /// <param name="fromMinute">The first minute sent: the series is the same as from minute 0, so a test can post it in steps.</param>
    public static IEnumerable<string> NdjsonBatches(
        DateTimeOffset start, int minutes, ulong seed, string source, string symbol = "EURUSD", double startPrice = 1.0850, int fromMinute = 0)
    {
        var market = new SyntheticMarket(symbol, startPrice, seed);
        var body = new StringBuilder();
        for (var minute = 0; minute < minutes; minute++)
        {
            for (var i = 0; i < TicksPerMinute; i++)
            {
                var tick = market.NextTick(start.AddMinutes(minute).AddSeconds(i * 60 / TicksPerMinute), TicksPerMinute, 0.0002, source);
                if (minute >= fromMinute)
                {
                    body.Append(CultureInfo.InvariantCulture,
                        $"{{\"symbol\":\"{symbol}\",\"time\":\"{tick.Time:yyyy-MM-ddTHH:mm:ssZ}\",\"bid\":{tick.Bid},\"ask\":{tick.Ask},\"volume\":{tick.Volume}}}\n");
                }
            }

            if (body.Length > 0 && ((minute - fromMinute + 1) % 50 == 0 || minute == minutes - 1))
            {
                yield return body.ToString();
                body.Clear();
            }
        }
    }
}
