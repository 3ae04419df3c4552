using DistortSignals.Platform.Actors;
using DistortSignals.Platform.State;

namespace DistortSignals.Platform.InProcess;

/// <summary>
/// One actor's state over the state store, under keys <c>&lt;type&gt;||&lt;id&gt;||&lt;name&gt;</c> (as Dapr
/// names actor state), written in one state transaction per turn.
/// </summary>
public sealed class ActorStateManager(IStateStore store, string actorType, string actorId) : CachedActorStateManager
{
    protected override async Task<string?> ReadAsync(string name, CancellationToken cancellationToken) =>
        (await store.GetBulkStateAsync([Key(name)], cancellationToken))[0].Value;

    protected override Task WriteAsync(IReadOnlyList<StateTransactionRequest> changes, CancellationToken cancellationToken) =>
        store.ExecuteStateTransactionAsync([.. changes.Select(c => c with { Key = Key(c.Key) })], cancellationToken);

    private string Key(string name) => $"{actorType}||{actorId}||{name}";
}
