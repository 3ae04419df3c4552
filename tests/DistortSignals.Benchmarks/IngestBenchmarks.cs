using BenchmarkDotNet.Attributes;
using DistortSignals.Core.Market;
using DistortSignals.Ingest.Processing;
using DistortSignals.Ingest.Storage;
using DistortSignals.Platform.InProcess;
using DistortSignals.Platform.Postgres;
using DistortSignals.Platform.Postgres.Migrations;
using Npgsql;

namespace DistortSignals.Benchmarks;

/// <summary>
/// Ticks through the ingest path (validation, repeat detection, bar building for M1..D1, storage of ticks
/// and bars, bar.closed events into the outbox) against a private PostgreSQL with the host's durable
/// settings. One operation is one batch of <see cref="BatchSize"/> ticks spread over <see cref="Symbols"/>
/// symbols; ticks/s = BatchSize x 1e9 / Mean(ns).
/// </summary>
public class IngestBenchmarks
{
    public const int BatchSize = 2000;

    private PrivatePostgresCluster _cluster = null!;
    private NpgsqlDataSource _database = null!;
    private MarketDataIngestor _ingestor = null!;
    private SyntheticMarket[] _markets = [];
    private DateTimeOffset _time;

    [Params(20)]
    public int Symbols { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _cluster = PrivatePostgresCluster.StartAsync().GetAwaiter().GetResult();
        _database = NpgsqlDataSource.Create(_cluster.ConnectionString);
        MigrationRunner.RunAsync(_database, "ingest", IngestMigrations.All, CancellationToken.None).GetAwaiter().GetResult();
        var symbols = Enumerable.Range(0, Symbols).Select(i => $"SYM{i:00}").ToArray();
        _ingestor = new MarketDataIngestor(_database, new PostgresOutbox(), new IngestOptions { Symbols = symbols }, new IngestMetrics());
        _markets = [.. symbols.Select((s, i) => new SyntheticMarket(s, 1.1, (ulong)i))];
        _time = new DateTimeOffset(2026, 1, 5, 0, 0, 0, TimeSpan.Zero);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _database.Dispose();
        _cluster.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(OperationsPerInvoke = 1)]
    public async Task<int> IngestBatch()
    {
        var batch = new List<(int, Tick)>(BatchSize);
        while (batch.Count < BatchSize)
        {
            _time += TimeSpan.FromSeconds(1);
            foreach (var market in _markets)
            {
                batch.Add((batch.Count, market.NextTick(_time, 60, 0.0002, "bench")));
            }
        }

        return (await _ingestor.IngestTicksAsync(batch, CancellationToken.None)).Accepted;
    }
}
