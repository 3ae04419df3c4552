using Npgsql;

namespace DistortSignals.Platform.Postgres.Migrations;

/// <summary>
/// Brings a schema up to date: creates it, keeps <c>&lt;schema&gt;.schema_migrations</c>, and applies the
/// pending migrations in version order, each in its own transaction. Replicas starting together are
/// serialised by a session advisory lock keyed by the schema, so each migration runs once.
/// </summary>
public static class MigrationRunner
{
    public static async Task RunAsync(NpgsqlDataSource dataSource, string schema, IReadOnlyList<Migration> migrations, CancellationToken cancellationToken)
    {
        PostgresIdentifier.Require(schema, nameof(schema));
        RequireIncreasingVersions(schema, migrations);

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(null, "SELECT pg_advisory_lock(hashtextextended(@key, 0))", cancellationToken, ("key", LockKey(schema)));
        try
        {
            await connection.ExecuteAsync(null, $"""
                CREATE SCHEMA IF NOT EXISTS {schema};
                CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
                    version integer PRIMARY KEY,
                    name text NOT NULL,
                    checksum text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now())
                """, cancellationToken);

            var applied = await ReadAppliedAsync(connection, schema, cancellationToken);
            var pending = Pending(schema, migrations, applied);
            foreach (var migration in pending)
            {
                await ApplyAsync(connection, schema, migration, cancellationToken);
            }
        }
        finally
        {
            await connection.ExecuteAsync(null, "SELECT pg_advisory_unlock(hashtextextended(@key, 0))", CancellationToken.None, ("key", LockKey(schema)));
        }
    }

    private static string LockKey(string schema) => "migrations:" + schema;

    private static void RequireIncreasingVersions(string schema, IReadOnlyList<Migration> migrations)
    {
        for (var i = 0; i < migrations.Count; i++)
        {
            var migration = migrations[i];
            if (migration.Version <= 0 || (i > 0 && migration.Version <= migrations[i - 1].Version))
            {
                throw new MigrationException(
                    $"schema {schema}: migration {migration.Version} '{migration.Name}' is out of order; versions must be positive and strictly increasing");
            }
        }
    }

    /// <summary>
    /// Checks the history against the code and returns what is left to apply. Versions recorded but unknown
    /// to this code are accepted: a newer replica applied them, and additive migrations keep older code working.
    /// </summary>
    private static List<Migration> Pending(string schema, IReadOnlyList<Migration> migrations, Dictionary<int, (string Name, string Checksum)> applied)
    {
        var highestApplied = applied.Count == 0 ? 0 : applied.Keys.Max();
        var pending = new List<Migration>();
        foreach (var migration in migrations)
        {
            if (applied.TryGetValue(migration.Version, out var recorded))
            {
                if (recorded.Checksum != migration.Checksum || recorded.Name != migration.Name)
                {
                    throw new MigrationException(
                        $"schema {schema}: migration {migration.Version} '{migration.Name}' differs from the one applied as '{recorded.Name}' "
                        + $"(checksum {recorded.Checksum}, now {migration.Checksum}); applied migrations must not change, add a new migration instead");
                }
            }
            else if (migration.Version < highestApplied)
            {
                throw new MigrationException(
                    $"schema {schema}: migration {migration.Version} '{migration.Name}' is older than the applied version {highestApplied}; "
                    + "give it a version above the latest applied one");
            }
            else
            {
                pending.Add(migration);
            }
        }

        return pending;
    }

    private static async Task<Dictionary<int, (string Name, string Checksum)>> ReadAppliedAsync(NpgsqlConnection connection, string schema, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"SELECT version, name, checksum FROM {schema}.schema_migrations", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var applied = new Dictionary<int, (string, string)>();
        while (await reader.ReadAsync(cancellationToken))
        {
            applied[reader.GetInt32(0)] = (reader.GetString(1), reader.GetString(2));
        }

        return applied;
    }

    private static async Task ApplyAsync(NpgsqlConnection connection, string schema, Migration migration, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        try
        {
            await connection.ExecuteAsync(transaction, $"SET LOCAL search_path TO {schema}", cancellationToken);
            await connection.ExecuteAsync(transaction, migration.Sql, cancellationToken);
        }
        catch (PostgresException error)
        {
            throw new MigrationException($"schema {schema}: migration {migration.Version} '{migration.Name}' failed: {error.MessageText}", error);
        }

        await connection.ExecuteAsync(transaction, $"INSERT INTO {schema}.schema_migrations (version, name, checksum) VALUES (@version, @name, @checksum)",
            cancellationToken, ("version", migration.Version), ("name", migration.Name), ("checksum", migration.Checksum));
        await transaction.CommitAsync(cancellationToken);
    }
}
