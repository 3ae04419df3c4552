using System.Security.Cryptography;
using System.Text;
using DistortSignals.Core.Market;
using DistortSignals.Ingest.Processing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace DistortSignals.Ingest.Feed;

/// <summary>
/// A made-up market for every traded symbol, fed through the same ingest path as the API. On start it
/// continues from the last stored tick (or makes <see cref="SyntheticFeedOptions.Backfill"/> of history
/// first), then runs at <see cref="SyntheticFeedOptions.Speed"/> times real time. Each symbol's market is
/// deterministic from the seed and the symbol, and a restart regenerates it from the beginning and skips
/// what is stored, so a killed and restarted host produces the same ticks.
/// </summary>
public sealed class SyntheticFeed(
    MarketDataIngestor ingestor,
    NpgsqlDataSource database,
    IngestOptions ingest,
    SyntheticFeedOptions options,
    TimeProvider clock,
    ILogger<SyntheticFeed> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (ingest.Symbols.Count == 0)
        {
            logger.LogWarning("The synthetic feed has no symbols to make: no strategy names any");
            return;
        }

        var origin = await OriginAsync(stoppingToken);
        var markets = ingest.Symbols.Select(s => new SymbolFeed(s, NewMarket(s, options.Seed))).ToList();
        var resumeFrom = await LastStoredAsync(stoppingToken);
        var marketTime = origin;
        DateTimeOffset? liveSince = null;
        var liveFrom = origin;
        logger.LogInformation("Synthetic feed for {Symbols} from {Origin:O}, live at {Speed}x", string.Join(", ", ingest.Symbols), origin, options.Speed);

        var ticksPerMinute = Math.Max(1, (int)(TimeSpan.FromMinutes(1) / options.TickInterval));
        var batch = new List<(int, Tick)>(options.BatchSize);
        while (!stoppingToken.IsCancellationRequested)
        {
            // Catching up (to the clock, or to what an earlier run stored) goes as fast as ingest takes it;
            // from then on the market runs at Speed x real time.
            var now = clock.GetUtcNow();
            var catchUpTo = resumeFrom > now ? resumeFrom.Value : now;
            if (liveSince is null && marketTime >= catchUpTo)
            {
                liveSince = now;
                liveFrom = marketTime;
            }

            var target = liveSince is { } since ? liveFrom + ((now - since) * options.Speed) : catchUpTo;
            while (marketTime < target && batch.Count < options.BatchSize)
            {
                marketTime += options.TickInterval;
                foreach (var feed in markets)
                {
                    var tick = feed.Market.NextTick(marketTime, ticksPerMinute, Spread(feed.Symbol), "synthetic");
                    if (resumeFrom is null || tick.Time > resumeFrom)
                    {
                        batch.Add((batch.Count, tick));
                    }
                }
            }

            if (batch.Count > 0)
            {
                await ingestor.IngestTicksAsync(batch, stoppingToken);
                batch.Clear();
                continue;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), clock, stoppingToken);
        }
    }

    /// <summary>The feed's first instant: stored in the database on the first run, so that every restart regenerates the same market.</summary>
    private async Task<DateTimeOffset> OriginAsync(CancellationToken cancellationToken)
    {
        var proposed = TimeframeExtensions.Floor(Timeframe.D1, clock.GetUtcNow() - options.Backfill);
        await using var command = database.CreateCommand(
            $"INSERT INTO {MarketDataIngestor.Schema}.feed_origin (id, origin, seed) VALUES (1, @origin, @seed) ON CONFLICT (id) DO NOTHING; " +
            $"SELECT origin FROM {MarketDataIngestor.Schema}.feed_origin WHERE id = 1");
        command.Parameters.AddWithValue("origin", proposed);
        command.Parameters.AddWithValue("seed", (long)options.Seed);
        return new DateTimeOffset((DateTime)(await command.ExecuteScalarAsync(cancellationToken))!, TimeSpan.Zero);
    }

    private async Task<DateTimeOffset?> LastStoredAsync(CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand($"SELECT max(time) FROM {MarketDataIngestor.Schema}.ticks WHERE source = 'synthetic'");
        return await command.ExecuteScalarAsync(cancellationToken) is DateTime time ? new DateTimeOffset(time, TimeSpan.Zero) : null;
    }

    internal static SyntheticMarket NewMarket(string symbol, ulong seed)
    {
        var hash = BitConverter.ToUInt64(SHA256.HashData(Encoding.UTF8.GetBytes(symbol)));
        return new SyntheticMarket(symbol, StartPrice(symbol), seed ^ hash, barVolatility: 0.0008, digits: Digits(symbol));
    }

    private static double StartPrice(string symbol) =>
        symbol.Contains("JPY", StringComparison.Ordinal) ? 150 : symbol.StartsWith("XAU", StringComparison.Ordinal) ? 2300 : symbol.Length == 6 ? 1.1 : 100;

    private static int Digits(string symbol) => symbol.Contains("JPY", StringComparison.Ordinal) ? 3 : symbol.Length == 6 && !symbol.StartsWith("XAU", StringComparison.Ordinal) ? 5 : 2;

    private static double Spread(string symbol) => Math.Pow(10, -Digits(symbol)) * 10;

    private sealed record SymbolFeed(string Symbol, SyntheticMarket Market);
}
