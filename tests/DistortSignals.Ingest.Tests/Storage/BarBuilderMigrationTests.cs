using System.Text.Json;
using System.Text.Json.Nodes;
using DistortSignals.Core.Market;
using DistortSignals.Ingest.Processing;
using DistortSignals.Ingest.Storage;
using DistortSignals.Platform;
using DistortSignals.Platform.Postgres.Migrations;
using DistortSignals.Testing;
using Npgsql;

namespace DistortSignals.Ingest.Tests.Storage;

public sealed class BarBuilderMigrationTests
{
    private static readonly DateTimeOffset Day = new(2026, 3, 2, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_builder_stored_with_every_folded_minute_listed_restores_the_same_after_the_migration()
    {
        var builder = SymbolAggregators.Create("EURUSD", TimeSpan.FromSeconds(2));
        var closed = new List<Bar>();
        foreach (var minute in new[] { 0, 1, 2, 7, 8, 61 })
        {
            Assert.Null(builder.AddM1(new Bar("EURUSD", Timeframe.M1, Day.AddMinutes(minute), 1.1, 1.2 + minute * 1e-4, 1.0, 1.1, 1, 1), closed));
        }

        var expected = builder.Snapshot();
        await using var database = NpgsqlDataSource.Create(await TestPostgres.CreateDatabaseAsync());
        await MigrationRunner.RunAsync(database, MarketDataIngestor.Schema, [.. IngestMigrations.All.Take(2)], CancellationToken.None);
        await using (var insert = database.CreateCommand("INSERT INTO ingest.bar_builders (symbol, state) VALUES ('EURUSD', $1::jsonb)"))
        {
            insert.Parameters.AddWithValue(Legacy(expected).ToJsonString());
            await insert.ExecuteNonQueryAsync();
        }

        await MigrationRunner.RunAsync(database, MarketDataIngestor.Schema, IngestMigrations.All, CancellationToken.None);

        await using var select = database.CreateCommand("SELECT state::text FROM ingest.bar_builders WHERE symbol = 'EURUSD'");
        var migrated = JsonSerializer.Deserialize<SymbolAggregatorsState>((string)(await select.ExecuteScalarAsync())!, PlatformJson.Options)!;
        var restored = SymbolAggregators.Restore(migrated, TimeSpan.FromSeconds(2)).Snapshot();
        Assert.Equal(expected.Ticks, restored.Ticks);
        Assert.Equal(expected.Bars.Count, restored.Bars.Count);
        for (var i = 0; i < expected.Bars.Count; i++)
        {
            Assert.Equal(expected.Bars[i].Forming, restored.Bars[i].Forming);
            Assert.Equal(expected.Bars[i].FoldedMinutes(), restored.Bars[i].FoldedMinutes());
            Assert.Equal(expected.Bars[i].FoldedRuns, restored.Bars[i].FoldedRuns);
        }
    }

    /// <summary>The shape stored before runs: each bar builder listed its folded minutes one by one under foldedMinutes.</summary>
    private static JsonNode Legacy(SymbolAggregatorsState state)
    {
        var json = JsonSerializer.SerializeToNode(state, PlatformJson.Options)!;
        var bars = json["bars"]!.AsArray();
        for (var i = 0; i < bars.Count; i++)
        {
            var bar = bars[i]!.AsObject();
            bar.Remove("foldedRuns");
            bar["foldedMinutes"] = new JsonArray([.. state.Bars[i].FoldedMinutes().Select(m => JsonValue.Create(m))]);
        }

        return json;
    }
}
