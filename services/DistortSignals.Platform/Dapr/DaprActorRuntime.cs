using System.Collections.Concurrent;
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
public sealed class DaprActorRuntime(DaprClient client, IEnumerable<ActorRegistration> registrations, IServiceProvider services) : IActorInvoker, IActorReminders
{
    private readonly Dictionary<string, ActorRegistration> _registrations = registrations.ToDictionary(r => r.ActorType);
    private readonly ConcurrentDictionary<(string Type, string Id), Activation> _activations = new();

    /// <summary>The actor types this app hosts, announced in <c>GET /dapr/config</c>.</summary>
    public IReadOnlyCollection<string> ActorTypes => _registrations.Keys;

    public int ActiveActorCount => _activations.Count;

    public Task<JsonElement?> InvokeMethodAsync(string actorType, string actorId, string method, JsonElement? argument, CancellationToken cancellationToken) =>
        client.InvokeActorMethodAsync(actorType, actorId, method, argument, cancellationToken);

    public Task RegisterReminderAsync(string actorType, string actorId, string name, JsonElement? data, TimeSpan dueTime, TimeSpan period, CancellationToken cancellationToken) =>
        client.RegisterActorReminderAsync(actorType, actorId, name, dueTime, period, data, cancellationToken);

    public Task UnregisterReminderAsync(string actorType, string actorId, string name, CancellationToken cancellationToken) =>
        client.UnregisterActorReminderAsync(actorType, actorId, name, cancellationToken);

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
    public async Task DeactivateAsync(string actorType, string actorId)
    {
        if (_activations.TryRemove((actorType, actorId), out var activation))
        {
            await activation.Turn.WaitAsync();
            activation.Deactivated = true;
            activation.Turn.Release();
        }
    }

    private async Task<T> RunTurnAsync<T>(string actorType, string actorId, Func<Actor, Task<T>> call, CancellationToken cancellationToken)
    {
        var registration = _registrations.GetValueOrDefault(actorType) ?? throw new ActorTypeNotHostedException(actorType);
        while (true)
        {
            var activation = _activations.GetOrAdd((actorType, actorId), _ => new Activation(new DaprActorStateManager(client, actorType, actorId)));
            await activation.Turn.WaitAsync(cancellationToken);
            try
            {
                if (activation.Deactivated)
                {
                    continue;
                }

                try
                {
                    if (activation.Instance is null)
                    {
                        var actor = registration.Factory(new ActorHost(actorType, actorId, activation.State, this), services);
                        await actor.OnActivateAsync(cancellationToken);
                        activation.Instance = actor;
                    }

                    var result = await call(activation.Instance);
                    await activation.State.SaveStateAsync(cancellationToken);
                    return result;
                }
                catch
                {
                    activation.State.ClearCache();
                    throw;
                }
            }
            finally
            {
                activation.Turn.Release();
            }
        }
    }

    private sealed class Activation(DaprActorStateManager state)
    {
        public SemaphoreSlim Turn { get; } = new(1, 1);

        public DaprActorStateManager State { get; } = state;

        public Actor? Instance { get; set; }

        public bool Deactivated { get; set; }
    }
}

/// <summary>The sidecar called an actor type this app does not register (answered 404: not found, not retried).</summary>
public sealed class ActorTypeNotHostedException(string actorType) : Exception($"this app hosts no actor type '{actorType}'");
