using DistortSignals.Platform.Actors;
using DistortSignals.Platform.State;

namespace DistortSignals.Platform.Dapr;

/// <summary>
/// One actor's state over the sidecar's actor state API (<c>/v1.0/actors/{type}/{id}/state</c>), which keys it
/// <c>&lt;appId&gt;||&lt;type&gt;||&lt;id&gt;||&lt;name&gt;</c> in the actor state store. A turn's changes go in one
/// actor state transaction while the turn still holds the actor (the sidecar refuses it for an actor not active here).
/// </summary>
public sealed class DaprActorStateManager(DaprClient client, string actorType, string actorId) : CachedActorStateManager
{
    protected override Task<string?> ReadAsync(string name, CancellationToken cancellationToken) =>
        client.GetActorStateAsync(actorType, actorId, name, cancellationToken);

    protected override Task WriteAsync(IReadOnlyList<StateTransactionRequest> changes, CancellationToken cancellationToken) =>
        client.ExecuteActorStateTransactionAsync(actorType, actorId, changes, cancellationToken);
}
