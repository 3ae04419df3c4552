using System.Collections.Concurrent;

namespace DistortSignals.Platform.Actors;

/// <summary>
/// The actor instances one runtime holds, and their turns, for both platforms: an instance per (type, id), created
/// and activated on its first call, runs one call at a time (methods and reminders alike); after a successful call
/// its state manager saves the changes in one transaction, and a call that throws discards them. A deactivated
/// instance finishes the call it is running; the next call creates a new one.
/// </summary>
public sealed class ActorActivations(IActorReminders reminders, IServiceProvider services, Func<string, string, CachedActorStateManager> stateManager)
{
    private readonly ConcurrentDictionary<(string Type, string Id), Activation> _activations = new();

    public int Count => _activations.Count;

    /// <summary>Runs <paramref name="call"/> as one turn of the actor (<paramref name="registration"/>'s type, <paramref name="actorId"/>).</summary>
    public async Task<T> RunTurnAsync<T>(ActorRegistration registration, string actorId, Func<Actor, Task<T>> call, CancellationToken cancellationToken)
    {
        var actorType = registration.ActorType;
        while (true)
        {
            var activation = _activations.GetOrAdd((actorType, actorId), _ => new Activation(stateManager(actorType, actorId)));
            await activation.Turn.WaitAsync(cancellationToken);
            try
            {
                if (activation.Deactivated)
                {
                    // Deactivated while we waited: take a turn on the new activation instead.
                    continue;
                }

                try
                {
                    if (activation.Instance is null)
                    {
                        var actor = registration.Factory(new ActorHost(actorType, actorId, activation.State, reminders), services);
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
                activation.LastUsed = Environment.TickCount64;
                activation.Turn.Release();
            }
        }
    }

    /// <summary>Drops the instance and its cached state once its running call, if any, is done.</summary>
    public async Task DeactivateAsync(string actorType, string actorId)
    {
        if (_activations.TryRemove((actorType, actorId), out var activation))
        {
            await activation.Turn.WaitAsync();
            activation.Deactivated = true;
            activation.Turn.Release();
        }
    }

    /// <summary>Drops the instances that have not been called for <paramref name="idleTimeout"/> and are not in a call now.</summary>
    public void DeactivateIdle(TimeSpan idleTimeout)
    {
        var idleSince = Environment.TickCount64 - (long)idleTimeout.TotalMilliseconds;
        foreach (var (key, activation) in _activations)
        {
            if (activation.LastUsed < idleSince && activation.Turn.Wait(0))
            {
                try
                {
                    activation.Deactivated = true;
                    _activations.TryRemove(new KeyValuePair<(string, string), Activation>(key, activation));
                }
                finally
                {
                    activation.Turn.Release();
                }
            }
        }
    }

    private sealed class Activation(CachedActorStateManager state)
    {
        public SemaphoreSlim Turn { get; } = new(1, 1);

        public CachedActorStateManager State { get; } = state;

        public Actor? Instance { get; set; }

        public bool Deactivated { get; set; }

        public long LastUsed { get; set; } = Environment.TickCount64;
    }
}
