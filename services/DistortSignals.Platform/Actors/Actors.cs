using System.Text.Json;

namespace DistortSignals.Platform.Actors;

/// <summary>
/// A virtual actor: one instance per (type, id), created on its first call, running one call at a time
/// (methods and reminders never interleave), keeping its state through <see cref="ActorHost.StateManager"/>.
/// This mirrors the Dapr actor protocol so that the sidecar can route the same calls
/// (<c>PUT /actors/{type}/{id}/method/{method}</c> and <c>…/method/remind/{name}</c>).
/// </summary>
public abstract class Actor(ActorHost host)
{
    public ActorHost Host { get; } = host;

    public string Id => Host.Id;

    public IActorStateManager StateManager => Host.StateManager;

    /// <summary>Called before the first call of an activation, for example to load state.</summary>
    public virtual Task OnActivateAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Runs method <paramref name="method"/> with its JSON argument; returns the JSON result. Unknown methods throw <see cref="ActorMethodNotFoundException"/>.</summary>
    public abstract Task<JsonElement?> InvokeMethodAsync(string method, JsonElement? argument, CancellationToken cancellationToken);

    /// <summary>A durable reminder fired; <paramref name="data"/> is what was given at registration.</summary>
    public virtual Task ReceiveReminderAsync(string reminderName, JsonElement? data, CancellationToken cancellationToken) => Task.CompletedTask;

    protected Task RegisterReminderAsync(string name, JsonElement? data, TimeSpan dueTime, TimeSpan period, CancellationToken cancellationToken) =>
        Host.Reminders.RegisterReminderAsync(Host.ActorType, Id, name, data, dueTime, period, cancellationToken);

    protected Task UnregisterReminderAsync(string name, CancellationToken cancellationToken) =>
        Host.Reminders.UnregisterReminderAsync(Host.ActorType, Id, name, cancellationToken);
}

/// <summary>What the runtime gives an actor instance.</summary>
public sealed record ActorHost(string ActorType, string Id, IActorStateManager StateManager, IActorReminders Reminders);

/// <summary>
/// Actor state: reads come from a cache loaded on demand; writes are kept until <see cref="SaveStateAsync"/>,
/// which the runtime calls after each successful call and which writes all changes in one transaction.
/// A call that throws discards its unsaved changes.
/// </summary>
public interface IActorStateManager
{
    Task<(bool HasValue, T? Value)> TryGetStateAsync<T>(string name, CancellationToken cancellationToken);

    Task SetStateAsync<T>(string name, T value, CancellationToken cancellationToken);

    Task<bool> TryRemoveStateAsync(string name, CancellationToken cancellationToken);

    Task SaveStateAsync(CancellationToken cancellationToken);

    void ClearCache();
}

/// <summary>Durable reminders: they survive a restart and fire through <see cref="Actor.ReceiveReminderAsync"/>.</summary>
public interface IActorReminders
{
    /// <summary>Registers or replaces a reminder; a zero <paramref name="period"/> fires once.</summary>
    Task RegisterReminderAsync(string actorType, string actorId, string name, JsonElement? data, TimeSpan dueTime, TimeSpan period, CancellationToken cancellationToken);

    Task UnregisterReminderAsync(string actorType, string actorId, string name, CancellationToken cancellationToken);
}

/// <summary>How modules call actors (Dapr: <c>/v1.0/actors/{type}/{id}/method/{method}</c>).</summary>
public interface IActorInvoker
{
    Task<JsonElement?> InvokeMethodAsync(string actorType, string actorId, string method, JsonElement? argument, CancellationToken cancellationToken);
}

/// <summary>Registers an actor type with the runtime of either platform.</summary>
public sealed record ActorRegistration(string ActorType, Func<ActorHost, IServiceProvider, Actor> Factory);

public sealed class ActorMethodNotFoundException(string actorType, string method)
    : Exception($"actor type {actorType} has no method '{method}'");
