using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using DistortSignals.Core.Market;
using DistortSignals.Ingest.Processing;

namespace DistortSignals.Ingest.Tests;

/// <summary>
/// A tick's id is stored with it and is how a repeat is recognised, so it must stay what it has always been:
/// the first 16 bytes of the SHA-256 of "symbol|UTC ticks|bid|ask|last|volume|source", numbers round-trip
/// formatted, an absent price empty.
/// </summary>
public class TickIdTests
{
    public static TheoryData<Tick> Ticks() => new()
    {
        new Tick("EURUSD", new DateTimeOffset(2026, 1, 5, 10, 0, 1, 123, TimeSpan.Zero), 1.10001, 1.10003, null, 0, "api"),
        new Tick("XAUUSD", new DateTimeOffset(2026, 1, 5, 10, 0, 1, TimeSpan.FromHours(2)), null, null, 2034.5, 1e-7, "mt5"),
        new Tick("USDJPY", DateTimeOffset.UnixEpoch.AddTicks(1), 0.1 + 0.2, 1e300, 156.123456789012345, 123456789.5, "feed"),
        new Tick("BTC/USD", new DateTimeOffset(2026, 1, 5, 0, 0, 0, TimeSpan.Zero), 97000, 97001, null, 3, new string('s', 600) + "é"),
    };

    [Theory]
    [MemberData(nameof(Ticks))]
    public void The_id_is_the_hash_of_the_documented_key(Tick tick)
    {
        var key = string.Join('|',
            tick.Symbol,
            tick.Time.UtcTicks.ToString(CultureInfo.InvariantCulture),
            tick.Bid?.ToString("R", CultureInfo.InvariantCulture),
            tick.Ask?.ToString("R", CultureInfo.InvariantCulture),
            tick.Last?.ToString("R", CultureInfo.InvariantCulture),
            tick.Volume.ToString("R", CultureInfo.InvariantCulture),
            tick.Source);
        var expected = new Guid(SHA256.HashData(Encoding.UTF8.GetBytes(key)).AsSpan(0, 16));

        Assert.Equal(expected, MarketDataIngestor.TickId(tick));
    }

    [Fact]
    public void Ticks_that_differ_in_any_part_have_different_ids()
    {
        var tick = new Tick("EURUSD", new DateTimeOffset(2026, 1, 5, 10, 0, 1, TimeSpan.Zero), 1.1, 1.1002, null, 1, "api");
        Tick[] variants = [tick with { Symbol = "GBPUSD" }, tick with { Time = tick.Time.AddTicks(1) }, tick with { Bid = 1.1000001 },
            tick with { Ask = null }, tick with { Last = 1.1 }, tick with { Volume = 2 }, tick with { Source = "mt5" }];

        Assert.Equal(variants.Length + 1, variants.Select(MarketDataIngestor.TickId).Append(MarketDataIngestor.TickId(tick)).Distinct().Count());
    }
}
