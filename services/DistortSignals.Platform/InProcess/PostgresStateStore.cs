using System.Text.Json;
using DistortSignals.Platform.Postgres;
using DistortSignals.Platform.State;
using Npgsql;
using NpgsqlTypes;

namespace DistortSignals.Platform.InProcess;

/// <summary>
/// <see cref="IStateStore"/> over <c>platform.state(key, value jsonb, etag uuid)</c>, with Dapr's PostgreSQL v2
/// semantics: every write gets a new UUID ETag, and an ETag that is not a UUID can never match.
/// </summary>
public sealed class PostgresStateStore(NpgsqlDataSource dataSource) : IStateStore
{
    public async Task<(T? Value, string? ETag)> GetStateAndETagAsync<T>(string key, CancellationToken cancellationToken)
    {
        var item = (await GetBulkStateAsync([key], cancellationToken))[0];
        return item.Value is null ? (default, null) : (JsonSerializer.Deserialize<T>(item.Value, PlatformJson.Options), item.ETag);
    }

    public async Task<IReadOnlyList<BulkStateItem>> GetBulkStateAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT key, value::text, etag FROM platform.state WHERE key = ANY(@keys)");
        command.Parameters.AddWithValue("keys", keys.ToArray());
        var found = new Dictionary<string, BulkStateItem>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                found[reader.GetString(0)] = new BulkStateItem(reader.GetString(0), reader.GetString(1), reader.GetGuid(2).ToString());
            }
        }

        return [.. keys.Select(key => found.GetValueOrDefault(key) ?? new BulkStateItem(key, null, null))];
    }

    public Task SaveStateAsync<T>(string key, T value, CancellationToken cancellationToken) =>
        ExecuteStateTransactionAsync([Upsert(key, value, null)], cancellationToken);

    public Task<bool> TrySaveStateAsync<T>(string key, T value, string? etag, CancellationToken cancellationToken) =>
        TryExecuteAsync(Upsert(key, value, etag), cancellationToken);

    public Task DeleteStateAsync(string key, CancellationToken cancellationToken) =>
        ExecuteStateTransactionAsync([new StateTransactionRequest(key, null, StateOperationType.Delete)], cancellationToken);

    public Task<bool> TryDeleteStateAsync(string key, string etag, CancellationToken cancellationToken) =>
        TryExecuteAsync(new StateTransactionRequest(key, null, StateOperationType.Delete, etag), cancellationToken);

    public async Task ExecuteStateTransactionAsync(IReadOnlyList<StateTransactionRequest> operations, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        foreach (var operation in operations)
        {
            if (!await ApplyAsync(connection, transaction, operation, cancellationToken))
            {
                throw new StateConcurrencyException(operation.Key);
            }
        }

        await transaction.CommitAsync(cancellationToken);
    }

    private static StateTransactionRequest Upsert<T>(string key, T value, string? etag) =>
        new(key, JsonSerializer.Serialize(value, PlatformJson.Options), StateOperationType.Upsert, etag);

    private async Task<bool> TryExecuteAsync(StateTransactionRequest operation, CancellationToken cancellationToken)
    {
        try
        {
            await ExecuteStateTransactionAsync([operation], cancellationToken);
            return true;
        }
        catch (StateConcurrencyException)
        {
            return false;
        }
    }

    /// <summary>Applies one operation; false when its ETag does not match the stored one (or the key is missing).</summary>
    private static async Task<bool> ApplyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, StateTransactionRequest operation, CancellationToken cancellationToken)
    {
        var checkETag = !string.IsNullOrEmpty(operation.ETag);
        Guid expected = default;
        if (checkETag && !Guid.TryParse(operation.ETag, out expected))
        {
            return false;
        }

        if (operation.OperationType == StateOperationType.Delete)
        {
            var deleted = checkETag
                ? await connection.ExecuteAsync(transaction, "DELETE FROM platform.state WHERE key = @key AND etag = @etag", cancellationToken,
                    ("key", operation.Key), ("etag", expected))
                : await connection.ExecuteAsync(transaction, "DELETE FROM platform.state WHERE key = @key", cancellationToken, ("key", operation.Key));
            return !checkETag || deleted == 1;
        }

        var value = operation.Value ?? throw new ArgumentException($"the upsert of state '{operation.Key}' has no value", nameof(operation));
        await using var command = new NpgsqlCommand(checkETag
            ? "UPDATE platform.state SET value = @value, etag = @newETag, updated_at = now() WHERE key = @key AND etag = @etag"
            : """
              INSERT INTO platform.state (key, value, etag) VALUES (@key, @value, @newETag)
              ON CONFLICT (key) DO UPDATE SET value = excluded.value, etag = excluded.etag, updated_at = now()
              """, connection, transaction);
        command.Parameters.AddWithValue("key", operation.Key);
        command.Parameters.AddWithValue("value", NpgsqlDbType.Jsonb, value);
        command.Parameters.AddWithValue("newETag", Guid.NewGuid());
        if (checkETag)
        {
            command.Parameters.AddWithValue("etag", expected);
        }

        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }
}
