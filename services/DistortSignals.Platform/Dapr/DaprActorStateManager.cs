using System.Text.Json;
using DistortSignals.Platform.Actors;
using DistortSignals.Platform.State;

namespace DistortSignals.Platform.Dapr;

/// <summary>
/// One actor's state over the sidecar's actor state API (<c>/v1.0/actors/{type}/{id}/state</c>), which keys it
/// <c>&lt;appId&gt;||&lt;type&gt;||&lt;id&gt;||&lt;name&gt;</c> in the actor state store. Values are cached as JSON;
/// changes wait for <see cref="SaveStateAsync"/>, which writes them in one actor state transaction while the
/// turn still holds the actor (the sidecar refuses it for an actor not active here).
/// </summary>
public sealed class DaprActorStateManager(DaprClient client, string actorType, string actorId) : IActorStateManager
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

        await client.ExecuteActorStateTransactionAsync(actorType, actorId,
            [.. changes.Select(c => c.Value.Json is null
                ? new StateTransactionRequest(c.Key, null, StateOperationType.Delete)
                : new StateTransactionRequest(c.Key, c.Value.Json, StateOperationType.Upsert))],
            cancellationToken);
        foreach (var (name, entry) in changes)
        {
            _cache[name] = entry with { Changed = false };
        }
    }

    public void ClearCache() => _cache.Clear();

    private async Task<Entry> LoadAsync(string name, CancellationToken cancellationToken)
    {
        if (!_cache.TryGetValue(name, out var entry))
        {
            entry = new Entry(await client.GetActorStateAsync(actorType, actorId, name, cancellationToken), Changed: false);
            _cache[name] = entry;
        }

        return entry;
    }

    private sealed record Entry(string? Json, bool Changed);
}
