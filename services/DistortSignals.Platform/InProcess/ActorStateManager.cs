using System.Text.Json;
using DistortSignals.Platform.Actors;
using DistortSignals.Platform.State;

namespace DistortSignals.Platform.InProcess;

/// <summary>
/// One actor's state over the state store, under keys <c>&lt;type&gt;||&lt;id&gt;||&lt;name&gt;</c> (as Dapr
/// names actor state). Values are cached as JSON; changes wait for <see cref="SaveStateAsync"/>, which writes
/// them in one state transaction. The runtime lets only one call run per actor, so the writes need no ETags.
/// </summary>
public sealed class ActorStateManager(IStateStore store, string actorType, string actorId) : IActorStateManager
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

        await store.ExecuteStateTransactionAsync(
            [.. changes.Select(c => c.Value.Json is null
                ? new StateTransactionRequest(Key(c.Key), null, StateOperationType.Delete)
                : new StateTransactionRequest(Key(c.Key), c.Value.Json, StateOperationType.Upsert))],
            cancellationToken);
        foreach (var (name, entry) in changes)
        {
            _cache[name] = entry with { Changed = false };
        }
    }

    /// <summary>Forgets cached values and unsaved changes; the next read goes to the store.</summary>
    public void ClearCache() => _cache.Clear();

    private string Key(string name) => $"{actorType}||{actorId}||{name}";

    private async Task<Entry> LoadAsync(string name, CancellationToken cancellationToken)
    {
        if (!_cache.TryGetValue(name, out var entry))
        {
            var stored = (await store.GetBulkStateAsync([Key(name)], cancellationToken))[0];
            entry = new Entry(stored.Value, Changed: false);
            _cache[name] = entry;
        }

        return entry;
    }

    /// <summary>A cached value as JSON (null when absent or removed) and whether it still has to be saved.</summary>
    private sealed record Entry(string? Json, bool Changed);
}
