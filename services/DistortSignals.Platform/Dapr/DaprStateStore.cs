using DistortSignals.Platform.State;
using Microsoft.Extensions.Options;

namespace DistortSignals.Platform.Dapr;

/// <summary><see cref="IStateStore"/> over the sidecar's state API and the configured store component (PostgreSQL v2: UUID ETags).</summary>
public sealed class DaprStateStore(DaprClient client, IOptions<DaprPlatformOptions> options) : IStateStore
{
    private readonly string _store = options.Value.StateStoreName;

    public Task<(T? Value, string? ETag)> GetStateAndETagAsync<T>(string key, CancellationToken cancellationToken) =>
        client.GetStateAndETagAsync<T>(_store, key, cancellationToken);

    public Task<IReadOnlyList<BulkStateItem>> GetBulkStateAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken) =>
        client.GetBulkStateAsync(_store, keys, parallelism: null, cancellationToken);

    public Task SaveStateAsync<T>(string key, T value, CancellationToken cancellationToken) =>
        client.SaveStateAsync(_store, key, value, cancellationToken);

    public Task<bool> TrySaveStateAsync<T>(string key, T value, string? etag, CancellationToken cancellationToken) =>
        client.TrySaveStateAsync(_store, key, value, etag, cancellationToken);

    public Task DeleteStateAsync(string key, CancellationToken cancellationToken) =>
        client.DeleteStateAsync(_store, key, cancellationToken);

    public Task<bool> TryDeleteStateAsync(string key, string etag, CancellationToken cancellationToken) =>
        client.TryDeleteStateAsync(_store, key, etag, cancellationToken);

    public Task ExecuteStateTransactionAsync(IReadOnlyList<StateTransactionRequest> operations, CancellationToken cancellationToken) =>
        client.ExecuteStateTransactionAsync(_store, operations, cancellationToken);
}
