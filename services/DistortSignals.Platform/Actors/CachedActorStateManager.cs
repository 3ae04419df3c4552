using System.Text.Json;
using DistortSignals.Platform.State;

namespace DistortSignals.Platform.Actors;

/// <summary>
/// The state manager both platforms share: values are cached as JSON per name, changes wait for
/// <see cref="SaveStateAsync"/>, which hands them to <see cref="WriteAsync"/> as one transaction. The runtime
/// lets only one call run per actor, so the writes need no ETags. A platform says only how one value is read
/// and how a transaction is written.
/// </summary>
public abstract class CachedActorStateManager : IActorStateManager
{
    private readonly Dictionary<string, Entry> _cache = [];

    public async Task<(bool HasValue, T? Value)> TryGetStateAsync<T>(string name, CancellationToken cancellationToken)
    {
        var entry = await LoadAsync(name, cancellationToken);
        return entry.Json is null ? (false, default) : (true, JsonSerializer.Deserialize<T>(entry.Json, PlatformJson.Options));
    }

    public Task SetStateAsync<T>(string name, T value, CancellationToken cancellationToken)
    {
        _cache[name] = new Entry(JsonSerializer.Serialize(value, PlatformJson.Options), Changed: true);
        return Task.CompletedTask;
    }

    public async Task<bool> TryRemoveStateAsync(string name, CancellationToken cancellationToken)
    {
        var entry = await LoadAsync(name, cancellationToken);
        if (entry.Json is null)
        {
            return false;
        }

        _cache[name] = new Entry(null, Changed: true);
        return true;
    }

    public async Task SaveStateAsync(CancellationToken cancellationToken)
    {
        var changes = _cache.Where(c => c.Value.Changed).ToList();
        if (changes.Count == 0)
        {
            return;
        }

        await WriteAsync(
            [.. changes.Select(c => c.Value.Json is null
                ? new StateTransactionRequest(c.Key, null, StateOperationType.Delete)
                : new StateTransactionRequest(c.Key, c.Value.Json, StateOperationType.Upsert))],
            cancellationToken);
        foreach (var (name, entry) in changes)
        {
            _cache[name] = entry with { Changed = false };
        }
    }

    /// <summary>Forgets cached values and unsaved changes; the next read goes to the store.</summary>
    public void ClearCache() => _cache.Clear();

    /// <summary>The stored JSON of one state name, or null when there is none.</summary>
    protected abstract Task<string?> ReadAsync(string name, CancellationToken cancellationToken);

    /// <summary>Writes changes, keyed by state name, in one transaction.</summary>
    protected abstract Task WriteAsync(IReadOnlyList<StateTransactionRequest> changes, CancellationToken cancellationToken);

    private async Task<Entry> LoadAsync(string name, CancellationToken cancellationToken)
    {
        if (!_cache.TryGetValue(name, out var entry))
        {
            entry = new Entry(await ReadAsync(name, cancellationToken), Changed: false);
            _cache[name] = entry;
        }

        return entry;
    }

    /// <summary>A cached value as JSON (null when absent or removed) and whether it still has to be saved.</summary>
    private sealed record Entry(string? Json, bool Changed);
}
