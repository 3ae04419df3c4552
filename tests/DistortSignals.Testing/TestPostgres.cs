using DistortSignals.Platform.Postgres;
using Npgsql;

namespace DistortSignals.Testing;

/// <summary>
/// One private PostgreSQL cluster per test run, started on first use and stopped when the test
/// process exits. Test classes share it and may run in parallel: each asks for its own database.
/// </summary>
public static class TestPostgres
{
    // The cluster's own watchdog stops it and deletes its folder when the test process ends.
    private static readonly Lazy<Task<PrivatePostgresCluster>> Cluster =
        new(() => PrivatePostgresCluster.StartAsync(options: new PrivatePostgresOptions { Durable = false }));

    /// <summary>Creates an empty database for one test class and returns its connection string.</summary>
    public static async Task<string> CreateDatabaseAsync()
    {
        var cluster = await Cluster.Value;
        var name = "test_" + Guid.NewGuid().ToString("N")[..16];
        await using (var connection = new NpgsqlConnection(cluster.ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await command.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(cluster.ConnectionString) { Database = name }.ConnectionString;
    }
}
