using DistortSignals.Platform.Postgres;
using DistortSignals.Testing;
using Npgsql;

namespace DistortSignals.Platform.Tests.Postgres;

public sealed class PrivatePostgresClusterTests
{
    [Fact]
    public async Task A_row_written_to_the_private_cluster_reads_back()
    {
        await using var connection = new NpgsqlConnection(await TestPostgres.CreateDatabaseAsync());
        await connection.OpenAsync();
        await using (var create = new NpgsqlCommand(
            "CREATE TABLE prices (symbol text PRIMARY KEY, close numeric NOT NULL, at timestamptz NOT NULL)", connection))
        {
            await create.ExecuteNonQueryAsync();
        }

        var at = new DateTimeOffset(2026, 11, 20, 21, 59, 0, TimeSpan.Zero);
        await using (var insert = new NpgsqlCommand("INSERT INTO prices VALUES (@symbol, @close, @at)", connection))
        {
            insert.Parameters.AddWithValue("symbol", "EURUSD");
            insert.Parameters.AddWithValue("close", 1.08375m);
            insert.Parameters.AddWithValue("at", at);
            Assert.Equal(1, await insert.ExecuteNonQueryAsync());
        }

        await using var select = new NpgsqlCommand("SELECT close, at, current_setting('listen_addresses') FROM prices WHERE symbol = 'EURUSD'", connection);
        await using var reader = await select.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(1.08375m, reader.GetDecimal(0));
        Assert.Equal(at, reader.GetFieldValue<DateTimeOffset>(1));
        Assert.Equal("127.0.0.1", reader.GetString(2));
    }

    [Fact]
    public async Task A_cluster_with_its_own_folder_keeps_its_data_across_a_restart()
    {
        var folder = Path.Combine(Path.GetTempPath(), "ds-pg-restart-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            await using (var first = await PrivatePostgresCluster.StartAsync(folder, new PrivatePostgresOptions { Durable = false }))
            {
                await ExecuteAsync(first.ConnectionString, "CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)");
            }

            await using var second = await PrivatePostgresCluster.StartAsync(folder, new PrivatePostgresOptions { Durable = false });
            await using var connection = new NpgsqlConnection(second.ConnectionString);
            await connection.OpenAsync();
            await using var select = new NpgsqlCommand("SELECT n FROM kept", connection);
            Assert.Equal(42, (int)(await select.ExecuteScalarAsync())!);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Missing_server_programs_are_reported_with_the_folder_and_how_to_install()
    {
        var missing = Path.Combine(Path.GetTempPath(), "no-postgres-here");
        var error = await Assert.ThrowsAsync<PostgresNotInstalledException>(
            () => PrivatePostgresCluster.StartAsync(options: new PrivatePostgresOptions { BinDirectory = missing }));
        Assert.Contains("initdb", error.Message);
        Assert.Contains(missing, error.Message);
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
