using DistortSignals.Platform.State;

namespace DistortSignals.Risk.Tests;

/// <summary>
/// The platform's real state store, except that a transaction can be made to fail once before it is written: what an
/// actor's state save meets when the process dies, or the connection drops, right after the turn's own commit.
/// </summary>
internal sealed class LosingStateStore(IStateStore store) : IStateStore
{
    private int _loseNext;

    /// <summary>The next state transaction throws, and writes nothing.</summary>
    public void LoseNextTransaction() => Interlocked.Exchange(ref _loseNext, 1);

    public Task ExecuteStateTransactionAsync(IReadOnlyList<StateTransactionRequest> operations, CancellationToken cancellationToken) =>
        Interlocked.Exchange(ref _loseNext, 0) == 1
            ? throw new IOException("the state transaction was lost (test)")
            : store.ExecuteStateTransactionAsync(operations, cancellationToken);

    public Task<(T? Value, string? ETag)> GetStateAndETagAsync<T>(string key, CancellationToken cancellationToken) => store.GetStateAndETagAsync<T>(key, cancellationToken);

    public Task<IReadOnlyList<BulkStateItem>> GetBulkStateAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken) => store.GetBulkStateAsync(keys, cancellationToken);

    public Task SaveStateAsync<T>(string key, T value, CancellationToken cancellationToken) => store.SaveStateAsync(key, value, cancellationToken);

    public Task<bool> TrySaveStateAsync<T>(string key, T value, string? etag, CancellationToken cancellationToken) => store.TrySaveStateAsync(key, value, etag, cancellationToken);

    public Task DeleteStateAsync(string key, CancellationToken cancellationToken) => store.DeleteStateAsync(key, cancellationToken);

    public Task<bool> TryDeleteStateAsync(string key, string etag, CancellationToken cancellationToken) => store.TryDeleteStateAsync(key, etag, cancellationToken);
}
