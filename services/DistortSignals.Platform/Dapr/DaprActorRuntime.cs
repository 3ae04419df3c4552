using System.Text.Json;
using DistortSignals.Platform.Actors;

namespace DistortSignals.Platform.Dapr;

/// <summary>
/// Actors on Dapr. Outgoing, modules call actors and register reminders through the sidecar, which places
/// the actor on some replica and gives it a turn. Incoming, the sidecar calls this app's actor endpoints
/// (<see cref="DaprEndpoints"/>) and this runtime runs the call on the actor instance of (type, id), created on
/// its first call (there is no activation call), one call at a time — the sidecar already serialises turns
/// per actor; the local lock also keeps a deactivation from overlapping a call. After a successful call the
/// state manager writes its changes in one actor state transaction; a call that throws discards them.
/// </summary>
public sealed class DaprActorRuntime : IActorInvoker, IActorReminders
{
    private readonly DaprClient _client;
    private readonly Dictionary<string, ActorRegistration> _registrations;
    private readonly ActorActivations _activations;

    public DaprActorRuntime(DaprClient client, IEnumerable<ActorRegistration> registrations, IServiceProvider services)
    {
        _client = client;
        _registrations = registrations.ToDictionary(r => r.ActorType);
        _activations = new ActorActivations(this, services, (type, id) => new DaprActorStateManager(client, type, id));
    }

    /// <summary>The actor types this app hosts, announced in <c>GET /dapr/config</c>.</summary>
    public IReadOnlyCollection<string> ActorTypes => _registrations.Keys;

    public int ActiveActorCount => _activations.Count;

    public Task<JsonElement?> InvokeMethodAsync(string actorType, string actorId, string method, JsonElement? argument, CancellationToken cancellationToken) =>
        _client.InvokeActorMethodAsync(actorType, actorId, method, argument, cancellationToken);

    public Task RegisterReminderAsync(string actorType, string actorId, string name, JsonElement? data, TimeSpan dueTime, TimeSpan period, CancellationToken cancellationToken) =>
        _client.RegisterActorReminderAsync(actorType, actorId, name, dueTime, period, data, cancellationToken);

    public Task UnregisterReminderAsync(string actorType, string actorId, string name, CancellationToken cancellationToken) =>
        _client.UnregisterActorReminderAsync(actorType, actorId, name, cancellationToken);

    /// <summary>A method call from the sidecar (<c>PUT /actors/{type}/{id}/method/{method}</c>).</summary>
    public Task<JsonElement?> OnMethodAsync(string actorType, string actorId, string method, JsonElement? argument, CancellationToken cancellationToken) =>
        RunTurnAsync(actorType, actorId, actor => actor.InvokeMethodAsync(method, argument, cancellationToken), cancellationToken);

    /// <summary>A reminder fired (<c>PUT /actors/{type}/{id}/method/remind/{name}</c>).</summary>
    public Task OnReminderAsync(string actorType, string actorId, string name, JsonElement? data, CancellationToken cancellationToken) =>
        RunTurnAsync<JsonElement?>(actorType, actorId, async actor =>
        {
            await actor.ReceiveReminderAsync(name, data, cancellationToken);
            return null;
        }, cancellationToken);

    /// <summary>The sidecar deactivated the actor (<c>DELETE /actors/{type}/{id}</c>): drop its instance and cached state after the running call.</summary>
    public Task DeactivateAsync(string actorType, string actorId) => _activations.DeactivateAsync(actorType, actorId);

    private Task<T> RunTurnAsync<T>(string actorType, string actorId, Func<Actor, Task<T>> call, CancellationToken cancellationToken) =>
        _activations.RunTurnAsync(_registrations.GetValueOrDefault(actorType) ?? throw new ActorTypeNotHostedException(actorType), actorId, call, cancellationToken);
}

/// <summary>The sidecar called an actor type this app does not register (answered 404: not found, not retried).</summary>
public sealed class ActorTypeNotHostedException(string actorType) : Exception($"this app hosts no actor type '{actorType}'");
