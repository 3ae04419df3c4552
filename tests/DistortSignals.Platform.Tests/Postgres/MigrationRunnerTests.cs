using DistortSignals.Platform.Postgres.Migrations;
using DistortSignals.Testing;
using Npgsql;

namespace DistortSignals.Platform.Tests.Postgres;

public sealed class MigrationRunnerTests
{
    // Not rerunnable on purpose: a second application fails, so "applied once" is observable.
    private static readonly Migration[] Migrations =
    [
        new(1, "prices", "CREATE TABLE prices (symbol text PRIMARY KEY, close numeric NOT NULL)"),
        new(2, "first price", "INSERT INTO prices VALUES ('EURUSD', 1.08)"),
        new(5, "price time", "ALTER TABLE prices ADD COLUMN at timestamptz"),
    ];

    [Fact]
    public async Task Pending_migrations_are_applied_in_order_and_recorded_with_their_checksums()
    {
        await using var dataSource = await NewDatabaseAsync();

        await MigrationRunner.RunAsync(dataSource, "market", Migrations, CancellationToken.None);

        Assert.Equal(1, await ScalarAsync<long>(dataSource, "SELECT count(*) FROM market.prices WHERE at IS NULL"));
        var recorded = await RowsAsync(dataSource, "SELECT version, name, checksum FROM market.schema_migrations ORDER BY version");
        Assert.Equal(Migrations.Select(m => $"{m.Version}|{m.Name}|{m.Checksum}"), recorded);
        Assert.Equal(64, Migrations[0].Checksum.Length);
    }

    [Fact]
    public async Task Running_again_applies_only_what_is_new()
    {
        await using var dataSource = await NewDatabaseAsync();
        await MigrationRunner.RunAsync(dataSource, "market", Migrations[..2], CancellationToken.None);

        await MigrationRunner.RunAsync(dataSource, "market", Migrations, CancellationToken.None);
        await MigrationRunner.RunAsync(dataSource, "market", Migrations, CancellationToken.None);

        Assert.Equal(1, await ScalarAsync<long>(dataSource, "SELECT count(*) FROM market.prices"));
        Assert.Equal(3, await ScalarAsync<long>(dataSource, "SELECT count(*) FROM market.schema_migrations"));
    }

    [Fact]
    public async Task An_applied_migration_whose_sql_changed_is_refused_naming_schema_version_and_name()
    {
        await using var dataSource = await NewDatabaseAsync();
        await MigrationRunner.RunAsync(dataSource, "market", Migrations, CancellationToken.None);
        Migration[] edited = [Migrations[0], Migrations[1] with { Sql = "INSERT INTO prices VALUES ('GBPUSD', 1.27)" }, Migrations[2]];

        var error = await Assert.ThrowsAsync<MigrationException>(() => MigrationRunner.RunAsync(dataSource, "market", edited, CancellationToken.None));

        Assert.Contains("schema market", error.Message);
        Assert.Contains("migration 2 'first price'", error.Message);
        Assert.Contains("checksum", error.Message);
        Assert.Equal(1, await ScalarAsync<long>(dataSource, "SELECT count(*) FROM market.prices"));
    }

    [Fact]
    public async Task Versions_that_do_not_increase_are_refused_before_anything_runs()
    {
        await using var dataSource = await NewDatabaseAsync();
        Migration[] unordered = [Migrations[0], Migrations[2], Migrations[1]];

        var error = await Assert.ThrowsAsync<MigrationException>(() => MigrationRunner.RunAsync(dataSource, "market", unordered, CancellationToken.None));

        Assert.Contains("schema market: migration 2 'first price' is out of order", error.Message);
        Assert.Null(await ScalarAsync<string?>(dataSource, "SELECT to_regclass('market.prices')::text"));
    }

    [Fact]
    public async Task A_new_migration_numbered_below_the_latest_applied_one_is_refused()
    {
        await using var dataSource = await NewDatabaseAsync();
        await MigrationRunner.RunAsync(dataSource, "market", Migrations, CancellationToken.None);
        Migration[] inserted = [Migrations[0], Migrations[1], new(3, "late", "CREATE TABLE late (n int)"), Migrations[2]];

        var error = await Assert.ThrowsAsync<MigrationException>(() => MigrationRunner.RunAsync(dataSource, "market", inserted, CancellationToken.None));

        Assert.Contains("schema market: migration 3 'late' is older than the applied version 5", error.Message);
    }

    [Fact]
    public async Task A_failing_migration_is_rolled_back_and_reported_while_earlier_ones_stay_applied()
    {
        await using var dataSource = await NewDatabaseAsync();
        Migration[] failing = [Migrations[0], new(2, "broken", "INSERT INTO prices VALUES ('EURUSD', 1.08); SELECT * FROM missing_table")];

        var error = await Assert.ThrowsAsync<MigrationException>(() => MigrationRunner.RunAsync(dataSource, "market", failing, CancellationToken.None));

        Assert.Contains("schema market: migration 2 'broken' failed", error.Message);
        Assert.Equal(0, await ScalarAsync<long>(dataSource, "SELECT count(*) FROM market.prices"));
        Assert.Equal(["1|prices"], await RowsAsync(dataSource, "SELECT version, name FROM market.schema_migrations"));
    }

    [Fact]
    public async Task Replicas_starting_together_apply_each_migration_once()
    {
        await using var dataSource = await NewDatabaseAsync();

        await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => MigrationRunner.RunAsync(dataSource, "market", Migrations, CancellationToken.None))));

        Assert.Equal(1, await ScalarAsync<long>(dataSource, "SELECT count(*) FROM market.prices"));
        Assert.Equal(3, await ScalarAsync<long>(dataSource, "SELECT count(*) FROM market.schema_migrations"));
    }

    [Fact]
    public async Task Schema_names_that_would_need_quoting_are_refused()
    {
        await using var dataSource = await NewDatabaseAsync();

        await Assert.ThrowsAsync<ArgumentException>(() => MigrationRunner.RunAsync(dataSource, "market; DROP TABLE x", Migrations, CancellationToken.None));
    }

    private static async Task<NpgsqlDataSource> NewDatabaseAsync() => NpgsqlDataSource.Create(await TestPostgres.CreateDatabaseAsync());

    private static async Task<T> ScalarAsync<T>(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        var value = await command.ExecuteScalarAsync();
        return value is DBNull ? default! : (T)value!;
    }

    private static async Task<List<string>> RowsAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            rows.Add(string.Join('|', Enumerable.Range(0, reader.FieldCount).Select(reader.GetValue)));
        }

        return rows;
    }
}
