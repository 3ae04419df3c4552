namespace DistortSignals.Platform.State;

/// <summary>
/// Key/value state with optimistic concurrency, named and shaped after the Dapr SDK so the sidecar
/// client can stand behind the same interface. ETags are opaque strings (a UUID per write, as
/// Dapr's PostgreSQL v2 store does); an empty or null ETag means "no concurrency check".
/// </summary>
public interface IStateStore
{
    Task<(T? Value, string? ETag)> GetStateAndETagAsync<T>(string key, CancellationToken cancellationToken);

    Task<IReadOnlyList<BulkStateItem>> GetBulkStateAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken);

    /// <summary>Last write wins.</summary>
    Task SaveStateAsync<T>(string key, T value, CancellationToken cancellationToken);

    /// <summary>Saves only when the stored ETag is <paramref name="etag"/>; false on a mismatch (Dapr's 409).</summary>
    Task<bool> TrySaveStateAsync<T>(string key, T value, string? etag, CancellationToken cancellationToken);

    Task DeleteStateAsync(string key, CancellationToken cancellationToken);

    /// <summary>Deletes only when the stored ETag is <paramref name="etag"/>; false on a mismatch.</summary>
    Task<bool> TryDeleteStateAsync(string key, string etag, CancellationToken cancellationToken);

    /// <summary>All operations or none; an ETag mismatch fails the whole transaction with <see cref="StateConcurrencyException"/>.</summary>
    Task ExecuteStateTransactionAsync(IReadOnlyList<StateTransactionRequest> operations, CancellationToken cancellationToken);
}

/// <summary>One key of a bulk read: the value as JSON text (null when absent) and its ETag.</summary>
public sealed record BulkStateItem(string Key, string? Value, string? ETag);

public enum StateOperationType
{
    Upsert,
    Delete,
}

/// <summary>One operation of a state transaction; <see cref="Value"/> is JSON text for an upsert.</summary>
public sealed record StateTransactionRequest(string Key, string? Value, StateOperationType OperationType, string? ETag = null);

/// <summary>An ETag did not match inside a transaction (Dapr answers 500 there, unlike the 409 of a single save).</summary>
public sealed class StateConcurrencyException(string key) : Exception($"state '{key}' was changed by someone else (ETag mismatch)")
{
    public string Key { get; } = key;
}
